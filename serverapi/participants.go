package serverapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room"
)

// The server API's calls on participants: what a backend needs without a participant's token.

func (s *API) listParticipants(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	name := r.PathValue("room")
	if !adminOf(c, name) && !c.Grant.RoomList {
		forbidden(w, "roomAdmin")
		return
	}
	rm := s.rooms.Room(name)
	if rm == nil {
		if list := s.remoteParticipants(name); list != nil {
			writeJSON(w, http.StatusOK, map[string]any{"participants": list})
			return
		}
		s.roomError(w, room.ErrNotFound)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"participants": rm.Participants(adminOf(c, name))})
}

// participant resolves {room}/{identity} for the admin calls.
func (s *API) participant(w http.ResponseWriter, r *http.Request, c *auth.Claims) *room.Participant {
	name := r.PathValue("room")
	if !adminOf(c, name) {
		forbidden(w, "roomAdmin")
		return nil
	}
	rm := s.rooms.Room(name)
	if rm == nil {
		s.roomError(w, room.ErrNotFound)
		return nil
	}
	p := rm.Participant(r.PathValue("identity"))
	if p == nil {
		s.roomError(w, room.ErrNotFound)
	}
	return p
}

func (s *API) getParticipant(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	if p := s.participant(w, r, c); p != nil {
		writeJSON(w, http.StatusOK, p.InfoWithPermissions())
	}
}

// updateParticipant is a PATCH: fields left out stay as they are, and so do the permissions
// left out of "permissions".
func (s *API) updateParticipant(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
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
		protocol.WriteHTTPError(w, http.StatusBadRequest, protocol.CodeBadRequest, "nothing to change: give name, metadata or permissions")
		return
	}
	if len(req.Permissions) > 0 {
		perms := *p.InfoWithPermissions().Permissions
		dec := json.NewDecoder(bytes.NewReader(req.Permissions))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&perms); err != nil {
			protocol.WriteHTTPError(w, http.StatusBadRequest, protocol.CodeBadRequest, "permissions: "+err.Error())
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

func (s *API) kick(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	if s.forwarded(w, r, c, OpKick, nil) {
		return
	}
	if p := s.participant(w, r, c); p != nil {
		p.Close(protocol.LeaveKicked)
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *API) mute(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	if !adminOf(c, r.PathValue("room")) {
		forbidden(w, "roomAdmin")
		return
	}
	var req MuteArgs
	if err := json.NewDecoder(io.LimitReader(r.Body, protocol.MaxMessageSize)).Decode(&req); err != nil || req.TrackSid == "" {
		protocol.WriteHTTPError(w, http.StatusBadRequest, protocol.CodeBadRequest, `body must be {"trackSid": "...", "muted": bool}`)
		return
	}
	if s.forwarded(w, r, c, OpMute, req) {
		return
	}
	p := s.participant(w, r, c)
	if p == nil {
		return
	}
	if err := p.MuteTrack(req.TrackSid, req.Muted); err != nil {
		s.roomError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *API) subscriptions(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
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
		protocol.WriteHTTPError(w, http.StatusBadRequest, protocol.CodeBadRequest, `body must be {"trackSids": [...], "subscribe": bool}`)
		return
	}
	if err := p.SetSubscriptions(req.TrackSids, *req.Subscribe); err != nil {
		s.roomError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// allocation explains one subscriber's last allocation (roomAdmin): the estimate, the budget,
// and per video the layer wanted, the layer chosen and why. The participant must be on this
// node: its allocation is made where it is connected.
func (s *API) allocation(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	p := s.participant(w, r, c)
	if p == nil {
		return
	}
	a, err := p.Allocation()
	if err != nil {
		s.roomError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}
