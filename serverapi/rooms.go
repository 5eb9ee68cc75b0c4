package serverapi

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room"
)

// The server API's calls on rooms: list, create, read, update, close, and data to a room.

func (s *API) listRooms(w http.ResponseWriter, _ *http.Request, c *auth.Claims) {
	if !c.Grant.RoomList && !c.Grant.RoomAdmin {
		forbidden(w, "roomList")
		return
	}
	rooms := append(s.rooms.Rooms(), s.remoteRooms()...)
	if !c.Grant.RoomList { // a room admin sees its own room
		own := rooms[:0]
		for _, r := range rooms {
			if adminOf(c, r.Name) {
				own = append(own, r)
			}
		}
		rooms = own
	}
	writeJSON(w, http.StatusOK, map[string]any{"rooms": rooms})
}

type createRoomRequest struct {
	Name            string `json:"name"`
	MaxParticipants int    `json:"maxParticipants"`
	EmptyTimeout    int    `json:"emptyTimeout"` // seconds
	Metadata        string `json:"metadata"`
}

func (s *API) createRoom(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	if !c.Grant.RoomCreate {
		forbidden(w, "roomCreate")
		return
	}
	var req createRoomRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, protocol.MaxMessageSize)).Decode(&req); err != nil {
		protocol.WriteHTTPError(w, http.StatusBadRequest, protocol.CodeBadRequest, "malformed JSON: "+err.Error())
		return
	}
	if req.MaxParticipants < 0 || req.EmptyTimeout < 0 || len(req.Metadata) > protocol.MaxMetadataLen {
		protocol.WriteHTTPError(w, http.StatusBadRequest, protocol.CodeBadRequest, "maxParticipants, emptyTimeout or metadata out of range")
		return
	}
	rm, err := s.rooms.CreateRoom(room.RoomOptions{Name: req.Name, MaxParticipants: req.MaxParticipants,
		EmptyTimeout: time.Duration(req.EmptyTimeout) * time.Second, Metadata: req.Metadata})
	if err != nil {
		s.roomError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rm.Info())
}

// adminRoom resolves {room} for a call that needs roomAdmin of it (or roomList, when readOnly).
func (s *API) adminRoom(w http.ResponseWriter, r *http.Request, c *auth.Claims, readOnly bool) *room.Room {
	name := r.PathValue("room")
	if !adminOf(c, name) && !(readOnly && c.Grant.RoomList) {
		forbidden(w, "roomAdmin")
		return nil
	}
	rm := s.rooms.Room(name)
	if rm == nil {
		s.roomError(w, fmt.Errorf("%w: no room %q", room.ErrNotFound, name))
	}
	return rm
}

func (s *API) getRoom(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	if rm := s.adminRoom(w, r, c, true); rm != nil {
		writeJSON(w, http.StatusOK, rm.Info())
	}
}

func (s *API) updateRoom(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	rm := s.adminRoom(w, r, c, false)
	if rm == nil {
		return
	}
	var req struct {
		Metadata *string `json:"metadata"`
	}
	if !readBody(w, r, &req) {
		return
	}
	if req.Metadata == nil {
		protocol.WriteHTTPError(w, http.StatusBadRequest, protocol.CodeBadRequest, `body must be {"metadata": "..."}`)
		return
	}
	info, err := rm.SetMetadata(*req.Metadata)
	if err != nil {
		s.roomError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

func (s *API) deleteRoom(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	name := r.PathValue("room")
	if !c.Grant.RoomCreate && !adminOf(c, name) {
		forbidden(w, "roomCreate")
		return
	}
	if err := s.rooms.CloseRoom(name); err != nil {
		s.roomError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *API) sendData(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	rm := s.adminRoom(w, r, c, false)
	if rm == nil {
		return
	}
	var req struct {
		Topic   string          `json:"topic"`
		Payload json.RawMessage `json:"payload"`
		To      []string        `json:"to"`
		Lossy   bool            `json:"lossy"`
	}
	if !readBody(w, r, &req) {
		return
	}
	if err := rm.SendData(req.Topic, req.Payload, req.To, req.Lossy); err != nil {
		s.roomError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
