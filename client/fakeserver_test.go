package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/podium-sfu/podium/protocol"
)

// fakeServer speaks the signalling side of the contract, scripted by each test: it refuses the
// tokens "bad" (401) and "full" (403), sends `joined`, and hands each session to the test.
type fakeServer struct {
	*httptest.Server
	t        *testing.T
	joined   func() *protocol.Joined
	sessions chan *fakeSession
	queries  chan string // the raw query of each upgrade request

	mu    sync.Mutex
	conns []*websocket.Conn
	wg    sync.WaitGroup // handlers
}

// fakeSession is one client connection as the server sees it.
type fakeSession struct {
	t   *testing.T
	ws  *websocket.Conn
	in  chan protocol.Message // decoded client messages; closed when the connection ends
	bad chan error            // frames that failed protocol.Decode
	wmu sync.Mutex
}

func newFakeServer(t *testing.T, joined func() *protocol.Joined) *fakeServer {
	t.Helper()
	fs := &fakeServer{t: t, joined: joined, sessions: make(chan *fakeSession, 4), queries: make(chan string, 4)}
	fs.Server = httptest.NewServer(http.HandlerFunc(fs.handle))
	t.Cleanup(fs.close)
	return fs
}

func defaultJoined() *protocol.Joined {
	return &protocol.Joined{
		Room:        protocol.RoomInfo{Name: "r1", Sid: "RM_1"},
		Participant: protocol.ParticipantInfo{Sid: "PA_self", Identity: "me", Permissions: &protocol.Permissions{CanPublish: true}},
		Participants: []protocol.ParticipantInfo{{
			Sid: "PA_2", Identity: "bob",
			Tracks: []protocol.TrackInfo{{Sid: "TR_9", Kind: protocol.KindVideo, Source: protocol.SourceCamera, Width: 320, Height: 180}},
		}},
		ServerVersion: "test",
	}
}

func (fs *fakeServer) wsURL() string { return "ws" + strings.TrimPrefix(fs.URL, "http") }

func (fs *fakeServer) handle(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/rtc" {
		http.NotFound(w, r)
		return
	}
	switch r.URL.Query().Get("access_token") {
	case "bad":
		writeJSON(w, http.StatusUnauthorized, `{"code":"unauthorized","message":"token expired"}`)
		return
	case "full":
		writeJSON(w, http.StatusForbidden, `{"code":"limit","message":"room is full"}`)
		return
	}
	fs.queries <- r.URL.RawQuery
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	fs.mu.Lock()
	fs.conns = append(fs.conns, ws)
	fs.wg.Add(1)
	fs.mu.Unlock()
	defer fs.wg.Done()
	s := &fakeSession{t: fs.t, ws: ws, in: make(chan protocol.Message, 256), bad: make(chan error, 16)}
	s.send(fs.joined())
	fs.sessions <- s
	defer close(s.in)
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			return
		}
		m, err := protocol.Decode(data)
		if err != nil {
			s.bad <- err
			continue
		}
		s.in <- m
	}
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

func (fs *fakeServer) close() {
	fs.mu.Lock()
	for _, ws := range fs.conns {
		_ = ws.Close()
	}
	fs.mu.Unlock()
	fs.wg.Wait()
	fs.Server.Close()
}

// session waits for the next client to connect.
func (fs *fakeServer) session(t *testing.T) *fakeSession {
	t.Helper()
	select {
	case s := <-fs.sessions:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("no client connected")
		return nil
	}
}

func (s *fakeSession) send(m protocol.Message) {
	b, err := protocol.Encode(m)
	if err != nil {
		s.t.Errorf("encode %T: %v", m, err)
		return
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_ = s.ws.WriteMessage(websocket.TextMessage, b)
}

// expect returns the next client message of type typ, skipping pings and candidates.
func (s *fakeSession) expect(t *testing.T, typ string) protocol.Message {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case m, ok := <-s.in:
			if !ok {
				t.Fatalf("connection ended while waiting for %s", typ)
			}
			if m.MessageType() == typ {
				return m
			}
			if t := m.MessageType(); t != "ping" && t != "candidate" {
				s.t.Logf("skipping %s while waiting for %s", t, typ)
			}
		case <-timeout:
			t.Fatalf("no %s from the client", typ)
			return nil
		}
	}
}

// connect joins the fake server with test options.
func connect(t *testing.T, fs *fakeServer, token string, o Options) *Client {
	t.Helper()
	o.Loopback = true
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Connect(ctx, fs.wsURL(), token, o)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// nextEvent returns the next event of type typ.
func nextEvent(t *testing.T, c *Client, typ string) protocol.Message {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case m, ok := <-c.Events():
			if !ok {
				t.Fatalf("events closed while waiting for %s", typ)
			}
			if m.MessageType() == typ {
				return m
			}
		case <-timeout:
			t.Fatalf("no %s event", typ)
			return nil
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
