package signaling

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room"
	"github.com/podium-sfu/podium/whip"
)

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /rtc", s.handleRTC)
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "rooms": len(s.rooms.Rooms())})
	})
	m.Handle("GET /metrics", promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{}))
	for _, r := range s.apiRoutes() {
		m.HandleFunc(r.pattern, s.api(r.handle))
	}
	m.HandleFunc("OPTIONS /", s.preflight)
	whip.New(whip.Config{Rooms: s.rooms, Verifier: s.verifier, Logger: s.cfg.Logger}).Register(m)
	s.adminRoutes()
	if s.cfg.DevMode {
		// No CORS: a page of another origin must not read a token, an admin one least of all.
		m.HandleFunc("GET /api/dev/token", s.devOnly(s.devToken))
	}
	if s.cfg.Web != nil {
		m.Handle("GET /", http.FileServerFS(s.cfg.Web))
		m.HandleFunc("GET /api/app-config", s.appConfig)
	}
}

// appConfig tells the browser app where it may connect: its own origin, and these. A link
// with ?url= must not make a page of this server send camera and microphone elsewhere.
func (s *Server) appConfig(w http.ResponseWriter, _ *http.Request) {
	// devMode tells the lobby whether a room and a name are enough to join (else a link is).
	writeJSON(w, http.StatusOK, map[string]any{"allowedUrls": append([]string{}, s.cfg.AppURLs...), "devMode": s.cfg.DevMode})
}

// AppOrigin checks an origin the app may be allowed to connect to and returns it as the app
// compares it: ws or wss, lower-case host, no default port, no path. It refuses anything
// else, so that a typo fails at start instead of silently allowing nothing.
func AppOrigin(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "", fmt.Errorf("%q: %w", raw, err)
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "ws" && scheme != "wss" {
		return "", fmt.Errorf("%q: want ws://host[:port] or wss://host[:port]", raw)
	}
	if u.Host == "" || u.Hostname() == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%q: want an origin, scheme://host[:port] and nothing more", raw)
	}
	host := strings.ToLower(u.Host)
	if p := u.Port(); (scheme == "ws" && p == "80") || (scheme == "wss" && p == "443") {
		host = strings.TrimSuffix(host, ":"+p)
	}
	return scheme + "://" + host, nil
}

// cors lets apps on other origins call the API (the bearer token is the authority).
func (s *Server) cors(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		h(w, r)
	}
}

func (s *Server) preflight(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

// api authenticates a request's bearer token before calling h.
func (s *Server) api(h func(http.ResponseWriter, *http.Request, *auth.Claims)) http.HandlerFunc {
	return s.cors(func(w http.ResponseWriter, r *http.Request) {
		claims, err := s.verifier.Verify(bearerToken(r))
		if err != nil {
			writeError(w, http.StatusUnauthorized, protocol.CodeUnauthorized, "invalid access token: "+err.Error())
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
	writeError(w, http.StatusForbidden, protocol.CodeForbidden, "the token lacks the "+need+" grant")
}

// apiRoute is one call of the server API; docs/openapi.yaml describes every one
// (TestOpenAPIMatchesRoutes).
type apiRoute struct {
	pattern string // method and path, as http.ServeMux takes them
	handle  func(http.ResponseWriter, *http.Request, *auth.Claims)
}

func (s *Server) apiRoutes() []apiRoute {
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

func (s *Server) listRooms(w http.ResponseWriter, _ *http.Request, c *auth.Claims) {
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

func (s *Server) createRoom(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	if !c.Grant.RoomCreate {
		forbidden(w, "roomCreate")
		return
	}
	var req createRoomRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, protocol.MaxMessageSize)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, protocol.CodeBadRequest, "malformed JSON: "+err.Error())
		return
	}
	if req.MaxParticipants < 0 || req.EmptyTimeout < 0 || len(req.Metadata) > protocol.MaxMetadataLen {
		writeError(w, http.StatusBadRequest, protocol.CodeBadRequest, "maxParticipants, emptyTimeout or metadata out of range")
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

func (s *Server) deleteRoom(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
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

func (s *Server) listParticipants(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
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
func (s *Server) participant(w http.ResponseWriter, r *http.Request, c *auth.Claims) *room.Participant {
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

func (s *Server) kick(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	if s.forwarded(w, r, c, OpKick, nil) {
		return
	}
	if p := s.participant(w, r, c); p != nil {
		p.Close(protocol.LeaveKicked)
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) mute(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	if !adminOf(c, r.PathValue("room")) {
		forbidden(w, "roomAdmin")
		return
	}
	var req MuteArgs
	if err := json.NewDecoder(io.LimitReader(r.Body, protocol.MaxMessageSize)).Decode(&req); err != nil || req.TrackSid == "" {
		writeError(w, http.StatusBadRequest, protocol.CodeBadRequest, `body must be {"trackSid": "...", "muted": bool}`)
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

func (s *Server) roomError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, room.ErrNotFound):
		writeError(w, http.StatusNotFound, protocol.CodeNotFound, err.Error())
	case errors.Is(err, room.ErrBadRequest):
		writeError(w, http.StatusBadRequest, protocol.CodeBadRequest, err.Error())
	case errors.Is(err, room.ErrForbidden):
		writeError(w, http.StatusForbidden, protocol.CodeForbidden, err.Error())
	case errors.Is(err, room.ErrConflict):
		writeError(w, http.StatusConflict, protocol.CodeConflict, err.Error())
	case errors.Is(err, room.ErrLimit), errors.Is(err, room.ErrRoomFull):
		writeError(w, http.StatusForbidden, protocol.CodeLimit, err.Error())
	case errors.Is(err, room.ErrShuttingDown):
		writeError(w, http.StatusServiceUnavailable, protocol.CodeInternal, err.Error())
	default:
		writeError(w, http.StatusInternalServerError, protocol.CodeInternal, err.Error())
	}
}

// devOnly lets through what may get a dev token: a request of this server's own origin (an
// Origin header, when there is one, names the host asked), and unless DevAllowRemote from this
// machine to a loopback host name, which DNS rebinding cannot fake.
func (s *Server) devOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if o := r.Header.Get("Origin"); o != "" && !sameOrigin(o, r.Host) {
			writeError(w, http.StatusForbidden, protocol.CodeForbidden, "dev tokens are for this server's own pages, not "+o)
			return
		}
		if !s.cfg.DevAllowRemote && (!loopbackAddr(r.RemoteAddr) || !loopbackHost(r.Host)) {
			writeError(w, http.StatusForbidden, protocol.CodeForbidden,
				"dev tokens are served on this machine only, at 127.0.0.1 or localhost (podium serve --dev-allow-remote lifts this)")
			return
		}
		h(w, r)
	}
}

// sameOrigin reports whether origin (scheme://host[:port]) names host, the request's Host.
// The scheme is not compared: behind a TLS proxy the server sees plain HTTP.
func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, host)
}

func loopbackAddr(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loopbackHost reports whether a Host header names this machine: a loopback address, localhost
// or a name under .localhost (which browsers resolve to loopback themselves).
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback()
	}
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}

// devToken mints a token for whoever devOnly lets through: only in dev mode, for the browser app
// on a laptop.
func (s *Server) devToken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	roomName, identity := q.Get("room"), q.Get("identity")
	admin := q.Get("admin") == "1"
	if admin && roomName == "" && identity == "" {
		identity = "admin" // the dashboard: an admin of every room who joins none
	}
	name := q.Get("name")
	if name == "" {
		name = identity
	}
	if (roomName == "" && !admin) || identity == "" || len(roomName) > 128 || len(identity) > auth.MaxIdentityLen || len(name) > auth.MaxNameLen {
		writeError(w, http.StatusBadRequest, protocol.CodeBadRequest, "room and identity are required (at most 128 bytes), name at most 256 bytes")
		return
	}
	key, secret := s.devKey()
	tok, err := auth.Mint(key, secret, auth.MintOptions{Identity: identity, Name: name, Grant: auth.Grant{
		Room: roomName, RoomJoin: roomName != "", CanPublish: true, CanSubscribe: true, CanPublishData: true,
		RoomAdmin: admin, RoomList: admin,
	}})
	if err != nil {
		writeError(w, http.StatusInternalServerError, protocol.CodeInternal, err.Error())
		return
	}
	scheme := "ws"
	if r.TLS != nil {
		scheme = "wss"
	}
	writeJSON(w, http.StatusOK, map[string]string{"token": tok, "url": scheme + "://" + r.Host})
}

func (s *Server) devKey() (string, string) {
	for k, v := range s.cfg.Keys {
		return k, v
	}
	return "", ""
}
