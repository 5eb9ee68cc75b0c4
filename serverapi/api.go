// Package serverapi is the node's HTTP surface: one route table, the one docs/openapi.yaml
// describes. It serves the server API (rooms, participants, data, the cluster's nodes, the
// allocation explained), the admin dashboard's stats, health, metrics, the browser app and its
// dev tokens, and hands GET /rtc to the WebSocket wire (package signaling) and WHIP/WHEP to
// package whip. It acts on rooms through package room and never speaks the WebSocket protocol.
package serverapi

import (
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room"
	"github.com/podium-sfu/podium/whip"
)

// Config configures the node's HTTP surface.
type Config struct {
	// Keys are the API keys and secrets that sign access tokens.
	Keys auth.KeyProvider
	// DevMode enables /api/dev/token, which mints tokens with the first key for a page of this
	// server's own origin on this machine (a loopback client naming a loopback host).
	DevMode bool
	// DevAllowRemote serves dev tokens to other machines too (still same-origin only): anyone
	// who can reach the server then gets any token, admin included.
	DevAllowRemote bool
	// AppURLs are the signalling origins (ws://host:port, as AppOrigin returns them) the browser
	// app may connect to besides its own; GET /api/app-config tells it.
	AppURLs []string
	// Web is served at / (the browser app); nil serves nothing there.
	Web fs.FS
	// RTC serves GET /rtc, the WebSocket signalling (signaling.Server.Handler); nil serves none.
	RTC    http.Handler
	Logger *slog.Logger
	// Registry receives the node's metrics and is served at /metrics; nil makes a private one.
	Registry *prometheus.Registry
}

// API is the node's HTTP handler tree.
type API struct {
	cfg      Config
	rooms    *room.Manager
	cluster  Cluster // nil on a lone node
	verifier *auth.Verifier
	mux      *http.ServeMux
}

// New builds the handler tree over a room manager and registers the node's metrics.
func New(cfg Config, rooms *room.Manager) *API {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	s := &API{
		cfg: cfg, rooms: rooms,
		verifier: &auth.Verifier{Keys: cfg.Keys, Leeway: auth.ClockSkew},
		mux:      http.NewServeMux(),
	}
	registerMetrics(cfg.Registry, rooms)
	s.routes()
	return s
}

// Handler is the node's HTTP handler.
func (s *API) Handler() http.Handler { return s.mux }

func (s *API) routes() {
	m := s.mux
	if s.cfg.RTC != nil {
		m.Handle("GET /rtc", s.cfg.RTC)
	}
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "rooms": len(s.rooms.Rooms())})
	})
	m.Handle("GET /metrics", promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{}))
	for _, r := range s.apiRoutes() {
		m.HandleFunc(r.pattern, s.api(r.handle))
	}
	m.HandleFunc("OPTIONS /", s.preflight)
	whip.New(whip.Config{Rooms: s.rooms, Verifier: s.verifier, Logger: s.cfg.Logger}).Register(m)
	if s.cfg.DevMode {
		// No CORS: a page of another origin must not read a token, an admin one least of all.
		m.HandleFunc("GET /api/dev/token", s.devOnly(s.devToken))
	}
	if s.cfg.Web != nil {
		m.Handle("GET /", http.FileServerFS(s.cfg.Web))
		m.HandleFunc("GET /api/app-config", s.appConfig)
		m.HandleFunc("GET /admin", func(w http.ResponseWriter, r *http.Request) {
			http.ServeFileFS(w, r, s.cfg.Web, "admin.html")
		})
	}
}

// apiRoute is one call of the server API; docs/openapi.yaml describes every one
// (TestOpenAPIMatchesRoutes).
type apiRoute struct {
	pattern string // method and path, as http.ServeMux takes them
	handle  func(http.ResponseWriter, *http.Request, *auth.Claims)
}

func (s *API) apiRoutes() []apiRoute {
	return []apiRoute{
		{"GET /api/rooms", s.listRooms},
		{"POST /api/rooms", s.createRoom},
		{"GET /api/rooms/{room}", s.getRoom},
		{"PATCH /api/rooms/{room}", s.updateRoom},
		{"DELETE /api/rooms/{room}", s.deleteRoom},
		{"GET /api/rooms/{room}/participants", s.listParticipants},
		{"GET /api/rooms/{room}/participants/{identity}", s.getParticipant},
		{"PATCH /api/rooms/{room}/participants/{identity}", s.updateParticipant},
		{"DELETE /api/rooms/{room}/participants/{identity}", s.kick},
		{"POST /api/rooms/{room}/participants/{identity}/mute", s.mute},
		{"POST /api/rooms/{room}/participants/{identity}/subscriptions", s.subscriptions},
		{"GET /api/rooms/{room}/participants/{identity}/allocation", s.allocation},
		{"POST /api/rooms/{room}/data", s.sendData},
		{"GET /api/admin/stats", s.adminStatsRoute()},
		{"GET /api/nodes", s.listNodes},
	}
}

// cors lets apps on other origins call the API (the bearer token is the authority).
func (s *API) cors(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		h(w, r)
	}
}

func (s *API) preflight(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

// api authenticates a request's bearer token before calling h.
func (s *API) api(h func(http.ResponseWriter, *http.Request, *auth.Claims)) http.HandlerFunc {
	return s.cors(func(w http.ResponseWriter, r *http.Request) {
		claims, err := s.verifier.Verify(auth.BearerToken(r))
		if err != nil {
			protocol.WriteHTTPError(w, http.StatusUnauthorized, protocol.CodeUnauthorized, "invalid access token: "+err.Error())
			return
		}
		h(w, r, claims)
	})
}

// adminOf reports whether the claims administer room name.
func adminOf(c *auth.Claims, name string) bool {
	return c.Grant.RoomAdmin && (c.Grant.Room == "" || c.Grant.Room == name)
}

func forbidden(w http.ResponseWriter, need string) {
	protocol.WriteHTTPError(w, http.StatusForbidden, protocol.CodeForbidden, "the token lacks the "+need+" grant")
}

func (s *API) roomError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, room.ErrNotFound):
		protocol.WriteHTTPError(w, http.StatusNotFound, protocol.CodeNotFound, err.Error())
	case errors.Is(err, room.ErrBadRequest):
		protocol.WriteHTTPError(w, http.StatusBadRequest, protocol.CodeBadRequest, err.Error())
	case errors.Is(err, room.ErrForbidden):
		protocol.WriteHTTPError(w, http.StatusForbidden, protocol.CodeForbidden, err.Error())
	case errors.Is(err, room.ErrConflict):
		protocol.WriteHTTPError(w, http.StatusConflict, protocol.CodeConflict, err.Error())
	case errors.Is(err, room.ErrLimit), errors.Is(err, room.ErrRoomFull):
		protocol.WriteHTTPError(w, http.StatusForbidden, protocol.CodeLimit, err.Error())
	case errors.Is(err, room.ErrShuttingDown):
		protocol.WriteHTTPError(w, http.StatusServiceUnavailable, protocol.CodeInternal, err.Error())
	default:
		protocol.WriteHTTPError(w, http.StatusInternalServerError, protocol.CodeInternal, err.Error())
	}
}

// readBody decodes a request's JSON body into v, within the signalling frame limit; on error it
// answers 400 and returns false.
func readBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, protocol.MaxMessageSize))
	dec.DisallowUnknownFields() // a misspelt field must not be silently ignored
	if err := dec.Decode(v); err != nil {
		protocol.WriteHTTPError(w, http.StatusBadRequest, protocol.CodeBadRequest, "malformed JSON: "+err.Error())
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
