// Package signaling is Podium's wire: WebSocket sessions speaking the JSON protocol (GET /rtc),
// their access-token checks, the dispatch of their messages to rooms and resume across sockets.
// It drives rooms through package room and never touches RTP; the node's other HTTP routes are
// package serverapi's.
package signaling

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room"
)

// Config configures the signalling server.
type Config struct {
	// Keys are the API keys and secrets that sign access tokens.
	Keys   auth.KeyProvider
	Logger *slog.Logger
	// Registry receives the sessions' metrics; nil makes a private one.
	Registry *prometheus.Registry
	// ResumeWindow is how long a participant whose client can resume outlives its WebSocket
	// (default DefaultResumeWindow).
	ResumeWindow time.Duration
}

// Server is the WebSocket side of Podium: one session per connected client.
type Server struct {
	cfg      Config
	rooms    *room.Manager
	linksMu  sync.Mutex
	links    map[string]*link // by resume token
	verifier *auth.Verifier
	upgrader websocket.Upgrader
	metrics  *metrics

	mu       sync.Mutex
	sessions sync.WaitGroup
	closed   bool
}

// NewServer builds the signalling server over a room manager.
func NewServer(cfg Config, rooms *room.Manager) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	return &Server{
		cfg: cfg, rooms: rooms, links: map[string]*link{},
		verifier: &auth.Verifier{Keys: cfg.Keys, Leeway: auth.ClockSkew},
		upgrader: websocket.Upgrader{
			ReadBufferSize: 4096, WriteBufferSize: 4096,
			// Apps embed the SDK on their own origins: the token is the authority, not Origin.
			CheckOrigin: func(*http.Request) bool { return true },
		},
		metrics: newMetrics(cfg.Registry),
	}
}

// Handler serves GET /rtc: a client's WebSocket, for the length of its session.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.handleRTC) }

// Shutdown tells every participant the server is going away and waits for the sessions to end.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.rooms.Close()
	done := make(chan struct{})
	go func() { s.sessions.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Server) handleRTC(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	claims, err := s.verifier.Verify(auth.BearerToken(r))
	if err != nil {
		protocol.WriteHTTPError(w, http.StatusUnauthorized, protocol.CodeUnauthorized, "invalid access token: "+err.Error())
		return
	}
	if !claims.Grant.RoomJoin || claims.Grant.Room == "" {
		protocol.WriteHTTPError(w, http.StatusUnauthorized, protocol.CodeUnauthorized, "the token does not grant joining a room")
		return
	}
	if want := r.URL.Query().Get("room"); want != "" && want != claims.Grant.Room {
		protocol.WriteHTTPError(w, http.StatusUnauthorized, protocol.CodeUnauthorized, "the token is for another room")
		return
	}
	q := r.URL.Query()
	var resume *link
	if token := q.Get("resume"); token != "" {
		resume = s.findLink(token)
		if resume == nil || resume.identity != claims.Identity || resume.room != claims.Grant.Room {
			protocol.WriteHTTPError(w, http.StatusConflict, protocol.CodeConflict, "resume refused: no such session; join again")
			return
		}
	} else if rm := s.rooms.Room(claims.Grant.Room); rm != nil {
		if info := rm.Info(); !claims.Grant.Hidden && info.NumParticipants >= info.MaxParticipants && rm.Participant(claims.Identity) == nil {
			protocol.WriteHTTPError(w, http.StatusForbidden, protocol.CodeLimit, "the room is full")
			return
		}
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		protocol.WriteHTTPError(w, http.StatusServiceUnavailable, protocol.CodeInternal, "the server is shutting down")
		return
	}
	s.sessions.Add(1)
	s.mu.Unlock()
	defer s.sessions.Done()

	conn, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	logger := s.cfg.Logger.With("room", claims.Grant.Room, "participant", claims.Identity)
	sess := newSession(conn, logger, s.rooms.Limits())
	sess.droppedTotal = s.metrics.framesDropped
	defer func() { <-sess.done }()
	if resume != nil {
		s.resumeSession(resume, sess, q.Get("seq"))
		return
	}
	l := newLink(s, claims.Identity, claims.Grant.Room, q.Get("resumable") == "1", logger)
	_ = l.attach(sess, false, 0) // joined goes out on this session
	p, err := s.rooms.Join(claims.Grant.Room, room.JoinParams{
		Identity: claims.Identity, Name: claims.Name, Metadata: claims.Metadata,
		Permissions:   claims.Grant.Permissions(),
		AutoSubscribe: q.Get("autoSubscribe") != "false",
		Sink:          l,
		FailedGrace:   l.window, // a client that can resume may restart ICE meanwhile
	})
	if err != nil {
		code := protocol.CodeInternal
		switch {
		case errors.Is(err, room.ErrRoomFull), errors.Is(err, room.ErrLimit):
			code = protocol.CodeLimit
		case errors.Is(err, room.ErrBadRequest):
			code = protocol.CodeBadRequest
		case errors.Is(err, room.ErrShuttingDown), errors.Is(err, room.ErrRoomClosed):
			code = protocol.CodeConflict
		}
		sess.Send(&protocol.Error{Code: code, Message: "cannot join: " + err.Error()})
		close(sess.readDone) // no reader will run
		sess.Close()
		return
	}
	s.metrics.joinSeconds.Observe(time.Since(start).Seconds()) // joined is queued by now
	l.mu.Lock()
	l.p = p
	l.mu.Unlock()
	if l.token != "" {
		s.linksMu.Lock()
		s.links[l.token] = l
		s.linksMu.Unlock()
	}
	s.metrics.sessions.Inc()
	defer s.metrics.sessions.Dec()
	sess.readLoop(dispatcher{p: p, out: l})
	// The client went away (or left): it may resume within the window, else its connections
	// are released; a no-op when it already left.
	l.lost(sess)
}

// resumeSession puts a client back on its participant: `resumed`, the frames it missed, then
// its requests as before.
func (s *Server) resumeSession(l *link, sess *Session, seq string) {
	last, err := strconv.ParseUint(seq, 10, 64)
	if err == nil {
		err = l.attach(sess, true, last)
	}
	if err != nil {
		sess.Send(&protocol.Error{Code: protocol.CodeConflict, Message: "resume refused: " + err.Error() + "; join again"})
		close(sess.readDone) // no reader will run
		sess.Close()
		return
	}
	l.logger.Info("signalling resumed", "from_seq", last)
	s.metrics.sessions.Inc()
	defer s.metrics.sessions.Dec()
	sess.readLoop(dispatcher{p: l.p, out: l})
	l.lost(sess)
}
