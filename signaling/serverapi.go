package signaling

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room"
)

// The calls of the server API that change a room or a participant beyond creating, listing and
// removing them: what a backend needs without a participant's token.

// readBody decodes a request's JSON body into v, within the signalling frame limit; on error it
// answers 400 and returns false.
func readBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, protocol.MaxMessageSize))
	dec.DisallowUnknownFields() // a misspelt field must not be silently ignored
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, protocol.CodeBadRequest, "malformed JSON: "+err.Error())
		return false
	}
	return true
}

// adminRoom resolves {room} for a call that needs roomAdmin of it (or roomList, when readOnly).
func (s *Server) adminRoom(w http.ResponseWriter, r *http.Request, c *auth.Claims, readOnly bool) *room.Room {
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

func (s *Server) getRoom(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	if rm := s.adminRoom(w, r, c, true); rm != nil {
		writeJSON(w, http.StatusOK, rm.Info())
	}
}

func (s *Server) updateRoom(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
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
		writeError(w, http.StatusBadRequest, protocol.CodeBadRequest, `body must be {"metadata": "..."}`)
		return
	}
	info, err := rm.SetMetadata(*req.Metadata)
	if err != nil {
		s.roomError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

func (s *Server) getParticipant(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	if p := s.participant(w, r, c); p != nil {
		writeJSON(w, http.StatusOK, p.InfoWithPermissions())
	}
}

// updateParticipant is a PATCH: fields left out stay as they are, and so do the permissions
// left out of "permissions".
func (s *Server) updateParticipant(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	p := s.participant(w, r, c)
	if p == nil {
		return
	}
	var req struct {
		Name        *string         `json:"name"`
		Metadata    *string         `json:"metadata"`
		Permissions json.RawMessage `json:"permissions"`
	}
	if !readBody(w, r, &req) {
		return
	}
	if req.Name == nil && req.Metadata == nil && len(req.Permissions) == 0 {
		writeError(w, http.StatusBadRequest, protocol.CodeBadRequest, "nothing to change: give name, metadata or permissions")
		return
	}
	if len(req.Permissions) > 0 {
		perms := *p.InfoWithPermissions().Permissions
		dec := json.NewDecoder(bytes.NewReader(req.Permissions))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&perms); err != nil {
			writeError(w, http.StatusBadRequest, protocol.CodeBadRequest, "permissions: "+err.Error())
			return
		}
		if err := p.SetPermissions(perms); err != nil {
			s.roomError(w, err)
			return
		}
	}
	if req.Name != nil || req.Metadata != nil {
		if err := p.UpdateInfo(req.Name, req.Metadata); err != nil {
			s.roomError(w, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, p.InfoWithPermissions())
}

func (s *Server) subscriptions(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	p := s.participant(w, r, c)
	if p == nil {
		return
	}
	var req struct {
		TrackSids []string `json:"trackSids"`
		Subscribe *bool    `json:"subscribe"`
	}
	if !readBody(w, r, &req) {
		return
	}
	if len(req.TrackSids) == 0 || req.Subscribe == nil {
		writeError(w, http.StatusBadRequest, protocol.CodeBadRequest, `body must be {"trackSids": [...], "subscribe": bool}`)
		return
	}
	if err := p.SetSubscriptions(req.TrackSids, *req.Subscribe); err != nil {
		s.roomError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) sendData(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
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
