// Package whip is Podium's WHIP (RFC 9725) and WHEP endpoints: one HTTP POST carries the
// client's SDP offer and returns the answer, a DELETE on the session's URL ends it. A WHIP
// client (OBS, GStreamer, a browser) publishes into a room; a WHEP player receives a room's or
// one participant's tracks. Both authenticate with the access token a participant joins with.
// The room side of these sessions is in package room (Manager.Ingest, Manager.Egress).
package whip

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room"
)

// Paths of the endpoints; a session's URL is its endpoint's path, /sessions/ and its id.
const (
	IngestPath = "/whip"
	EgressPath = "/whep"
)

// answerTimeout bounds the wait for the server's candidates (host candidates on the shared
// sockets take milliseconds; STUN servers, a round trip).
const answerTimeout = 10 * time.Second

// Config is what the endpoints need.
type Config struct {
	Rooms    *room.Manager
	Verifier *auth.Verifier
	Logger   *slog.Logger
}

// Handler serves the WHIP and WHEP endpoints and the sessions they create.
type Handler struct {
	cfg Config

	mu       sync.Mutex
	sessions map[string]*room.Participant // by id; removed when the participant leaves
}

// New makes the endpoints.
func New(cfg Config) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{cfg: cfg, sessions: map[string]*room.Participant{}}
}

// Register adds the endpoints to mux. CORS preflights are the mux's (OPTIONS /).
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST "+IngestPath, h.ingest)
	mux.HandleFunc("POST "+EgressPath, h.egress)
	mux.HandleFunc("POST "+EgressPath+"/{identity}", h.egress)
	for _, base := range []string{IngestPath, EgressPath} {
		mux.HandleFunc("DELETE "+base+"/sessions/{id}", h.end)
		mux.HandleFunc("PATCH "+base+"/sessions/{id}", h.noPatch)
	}
}

// Sessions is the number of sessions open or starting.
func (h *Handler) Sessions() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.sessions)
}

func (h *Handler) ingest(w http.ResponseWriter, r *http.Request) {
	h.start(w, r, IngestPath, func(ctx context.Context, j room.HTTPJoin) (*room.Participant, string, error) {
		sections, err := parseOffer(j.Offer, h.cfg.Rooms.Limits().MaxOfferSections)
		if err != nil {
			return nil, "", err
		}
		if j.Publishes, err = publishes(sections); err != nil {
			return nil, "", err
		}
		return h.cfg.Rooms.Ingest(ctx, j)
	})
}

func (h *Handler) egress(w http.ResponseWriter, r *http.Request) {
	h.start(w, r, EgressPath, func(ctx context.Context, j room.HTTPJoin) (*room.Participant, string, error) {
		sections, err := parseOffer(j.Offer, h.cfg.Rooms.Limits().MaxOfferSections)
		if err != nil {
			return nil, "", err
		}
		j.Receiving, j.From = receivers(sections), r.PathValue("identity")
		return h.cfg.Rooms.Egress(ctx, j)
	})
}

// start authenticates the request, reads the offer, joins and answers 201 with the session's URL.
func (h *Handler) start(w http.ResponseWriter, r *http.Request, base string,
	join func(context.Context, room.HTTPJoin) (*room.Participant, string, error)) {
	cors(w)
	claims, err := h.cfg.Verifier.Verify(auth.BearerToken(r))
	if err != nil {
		fail(w, http.StatusUnauthorized, "invalid access token: "+err.Error())
		return
	}
	if !claims.Grant.RoomJoin || claims.Grant.Room == "" {
		fail(w, http.StatusUnauthorized, "the token does not grant joining a room")
		return
	}
	if ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || ct != "application/sdp" {
		fail(w, http.StatusUnsupportedMediaType, "the offer must be application/sdp")
		return
	}
	offer, err := io.ReadAll(http.MaxBytesReader(w, r.Body, protocol.MaxSDPLen))
	if tooLong := (*http.MaxBytesError)(nil); errors.As(err, &tooLong) {
		fail(w, http.StatusRequestEntityTooLarge, "the offer is longer than the limit")
		return
	} else if err != nil {
		fail(w, http.StatusBadRequest, "reading the offer: "+err.Error())
		return
	}
	id := rand.Text() // 128 bits: the session's URL is its capability
	h.mu.Lock()
	h.sessions[id] = nil // reserved: Gone may run before join returns
	h.mu.Unlock()
	ctx, cancel := context.WithTimeout(r.Context(), answerTimeout)
	defer cancel()
	p, answer, err := join(ctx, room.HTTPJoin{
		Room: claims.Grant.Room, Offer: string(offer),
		Join: room.JoinParams{Identity: claims.Identity, Name: claims.Name, Metadata: claims.Metadata,
			Permissions: claims.Grant.Permissions()},
		Gone: func() { h.forget(id) },
	})
	if err != nil {
		h.forget(id)
		status, msg := httpError(err)
		fail(w, status, msg)
		return
	}
	h.mu.Lock()
	if _, ok := h.sessions[id]; ok { // else it has left already (a newer session of its identity)
		h.sessions[id] = p
	}
	h.mu.Unlock()
	h.cfg.Logger.Info("session over HTTP", "endpoint", base, "room", claims.Grant.Room,
		"participant", claims.Identity, "sid", p.Sid())
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", base+"/sessions/"+id)
	for _, l := range iceServerLinks(h.cfg.Rooms.ICEServers(claims.Identity)) {
		w.Header().Add("Link", l)
	}
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer)
}

// forget drops a session whose participant has left.
func (h *Handler) forget(id string) {
	h.mu.Lock()
	delete(h.sessions, id)
	h.mu.Unlock()
}

// end is DELETE on a session: the participant leaves. The session's URL, unguessable, is the
// authority: a token may have expired during a long stream.
func (h *Handler) end(w http.ResponseWriter, r *http.Request) {
	cors(w)
	h.mu.Lock()
	p := h.sessions[r.PathValue("id")]
	h.mu.Unlock()
	if p == nil {
		fail(w, http.StatusNotFound, "no such session")
		return
	}
	p.Close(protocol.LeaveClient)
	w.WriteHeader(http.StatusOK)
}

// noPatch: neither trickle ICE nor ICE restarts (RFC 9725 4.3.1: 405); the answer carries
// every candidate.
func (h *Handler) noPatch(w http.ResponseWriter, _ *http.Request) {
	cors(w)
	w.Header().Set("Allow", "DELETE")
	fail(w, http.StatusMethodNotAllowed, "trickle ICE and ICE restarts are not supported")
}

// cors lets players on other origins use the endpoints (the bearer token, or the session's
// URL, is the authority) and read the session's URL.
func cors(w http.ResponseWriter) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Access-Control-Expose-Headers", "Location, Link")
}

// iceServerLinks are the Link header values of RFC 9725 4.6 naming the ICE servers, one per
// URL, with the TURN credentials a participant gets in `joined`: a client that would otherwise
// reach the server only through TURN (relay-only, a UDP-blocking firewall) finds it there.
func iceServerLinks(servers []protocol.ICEServer) []string {
	var links []string
	for _, s := range servers {
		for _, u := range s.URLs {
			l := "<" + u + `>; rel="ice-server"`
			if s.Username != "" {
				l += `; username=` + quote(s.Username) + `; credential=` + quote(s.Credential) +
					`; credential-type="password"`
			}
			links = append(links, l)
		}
	}
	return links
}

// quote makes s an RFC 9110 quoted-string.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// httpError maps a room error to a status and a message.
func httpError(err error) (int, string) {
	switch {
	case errors.Is(err, room.ErrBadRequest):
		return http.StatusBadRequest, err.Error()
	case errors.Is(err, room.ErrForbidden):
		return http.StatusForbidden, err.Error()
	case errors.Is(err, room.ErrNotFound):
		return http.StatusNotFound, err.Error()
	case errors.Is(err, room.ErrLimit), errors.Is(err, room.ErrRoomFull):
		return http.StatusForbidden, err.Error()
	case errors.Is(err, room.ErrConflict):
		return http.StatusConflict, err.Error()
	case errors.Is(err, room.ErrShuttingDown), errors.Is(err, room.ErrRoomClosed),
		errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, err.Error()
	}
	return http.StatusInternalServerError, "cannot start the session"
}

func fail(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg+"\n")
}
