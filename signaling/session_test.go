package signaling

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room"
)

// recorder is a Handler that keeps what reached it.
type recorder struct {
	mu   sync.Mutex
	msgs []protocol.Message
}

func (r *recorder) Handle(m protocol.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, m)
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msgs)
}

// frozenClock is a clock that moves only when told, for the rate limiter.
type frozenClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *frozenClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *frozenClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// sessionPair runs a Session on the server side of a loopback WebSocket and returns the
// client side. edit may change the session before its reader starts.
func sessionPair(t *testing.T, limits room.Limits, edit func(*Session)) (*websocket.Conn, *Session, *recorder) {
	t.Helper()
	h := &recorder{}
	ready := make(chan *Session, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		s := newSession(conn, slog.New(slog.DiscardHandler), limits)
		if edit != nil {
			edit(s)
		}
		ready <- s
		s.readLoop(h)
		s.Close()
		<-s.Done()
	}))
	t.Cleanup(srv.Close)
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, <-ready, h
}

func withDefaults(l room.Limits) room.Limits {
	cfg := room.Config{Limits: l}
	m := room.NewManager(cfg, nil)
	return m.Limits()
}

// readUntil reads frames until match accepts one or the connection ends; it returns the
// frames read.
func readUntil(t *testing.T, c *websocket.Conn, match func(protocol.Message) bool) []protocol.Message {
	t.Helper()
	var got []protocol.Message
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, b, err := c.ReadMessage()
		if err != nil {
			t.Logf("read ended: %v", err)
			return got
		}
		m, err := protocol.Decode(b)
		if err != nil {
			t.Fatalf("the server sent a frame that does not decode: %v", err)
		}
		got = append(got, m)
		if match(m) {
			return got
		}
	}
}

func isLeave(m protocol.Message) bool { _, ok := m.(*protocol.Leave); return ok }

// A client over its rate is told (rate_limited, once a second at most), its excess frames
// never reach the participant, and one that goes on is closed with leave rate_limited.
func TestSessionRateLimit(t *testing.T) {
	clock := &frozenClock{now: time.Unix(1000, 0)}
	limits := withDefaults(room.Limits{SignalRate: 10, SignalBurst: 20, StrikeLimit: 50})
	c, s, h := sessionPair(t, limits, func(s *Session) { s.now = clock.Now })
	waitDropped := func(n uint64) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for s.dropped.Load() < n {
			if time.Now().After(deadline) {
				t.Fatalf("%d frames dropped, want %d", s.dropped.Load(), n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	send := func(n int) {
		for range n {
			if err := c.WriteMessage(websocket.TextMessage, []byte(`{"type":"mute","trackSid":"TR_x","muted":true}`)); err != nil {
				return // the server closed the session: what the last phase expects
			}
		}
	}
	send(30) // 20 pass (the burst), 10 are dropped with one error
	waitDropped(10)
	ping := func() {
		if err := c.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping","ts":1}`)); err != nil {
			t.Fatal(err)
		}
	}
	clock.advance(time.Second) // 10 tokens back
	ping()
	got := readUntil(t, c, func(m protocol.Message) bool { _, ok := m.(*protocol.Pong); return ok })
	limited := 0
	for _, m := range got {
		if e, ok := m.(*protocol.Error); ok && e.Code == protocol.CodeRateLimited {
			limited++
		}
	}
	if limited != 1 {
		t.Fatalf("%d rate_limited errors for one burst, want 1 (frames: %v)", limited, got)
	}
	if n := h.count(); n != 20 {
		t.Fatalf("%d requests reached the participant, want the burst of 20", n)
	}

	send(9 + limits.StrikeLimit) // 9 pass, then StrikeLimit dropped: the session ends
	got = readUntil(t, c, isLeave)
	if len(got) == 0 || !isLeave(got[len(got)-1]) || got[len(got)-1].(*protocol.Leave).Reason != protocol.LeaveRateLimited {
		t.Fatalf("a client flooding on got %v, want leave rate_limited", got)
	}
	if _, _, err := c.ReadMessage(); err == nil {
		t.Fatal("the session stayed open after leave rate_limited")
	}
	if n := h.count(); n != 29 {
		t.Fatalf("%d requests reached the participant, want 29", n)
	}
}

// The byte bucket bounds big frames separately: offers of 60 KiB spend it long before the
// frame bucket.
func TestSessionByteLimit(t *testing.T) {
	clock := &frozenClock{now: time.Unix(1000, 0)}
	limits := withDefaults(room.Limits{SignalByteRate: 64 << 10, SignalByteBurst: 256 << 10})
	c, s, h := sessionPair(t, limits, func(s *Session) { s.now = clock.Now })
	offer, _ := json.Marshal(protocol.Offer{Target: protocol.TargetPublisher, SDP: strings.Repeat("a", 60<<10)})
	frame := append([]byte(`{"type":"offer",`), offer[1:]...)
	for range 10 {
		if err := c.WriteMessage(websocket.TextMessage, frame); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping","id":"last","ts":1}`)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for h.count() < 5 || s.dropped.Load() < 6 { // four offers fit 256 KiB, then the small ping
		if time.Now().After(deadline) {
			t.Fatalf("%d frames reached the participant and %d were dropped, want 5 and 6", h.count(), s.dropped.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := h.count(); n != 5 {
		t.Fatalf("%d frames reached the participant, want 4 offers and the ping", n)
	}
}

// An outgoing message over the frame limit is replaced by an error the client can read.
func TestSessionNeverDropsAnOversizedFrameSilently(t *testing.T) {
	c, s, _ := sessionPair(t, withDefaults(room.Limits{}), nil)
	s.Send(&protocol.ParticipantUpdated{Participant: protocol.ParticipantInfo{Metadata: strings.Repeat("x", protocol.MaxMessageSize)}})
	s.Send(&protocol.Pong{TS: 7})
	got := readUntil(t, c, func(m protocol.Message) bool { _, ok := m.(*protocol.Pong); return ok })
	if len(got) != 2 {
		t.Fatalf("got %v, want an error then the pong", got)
	}
	if e, ok := got[0].(*protocol.Error); !ok || e.Code != protocol.CodeInternal || !strings.Contains(e.Message, "participantUpdated") {
		t.Fatalf("in place of the oversized frame: %#v", got[0])
	}
}

// A client that does not read is closed once its queue holds OutboundBytes, not only after
// thousands of messages.
func TestSessionClosesASlowConsumerByBytes(t *testing.T) {
	limits := withDefaults(room.Limits{OutboundBytes: 1 << 20})
	c, s, _ := sessionPair(t, limits, nil)
	big := &protocol.ParticipantUpdated{Participant: protocol.ParticipantInfo{Metadata: strings.Repeat("x", 60<<10)}}
	for range 2000 { // 120 MB offered; the client reads nothing
		s.Send(big)
	}
	select {
	case <-s.Done():
	case <-time.After(15 * time.Second):
		t.Fatal("the session kept queueing for a client that does not read")
	}
	queued := s.out.Size()
	if queued != 0 {
		t.Fatalf("%d bytes still queued after the close", queued)
	}
	_ = c.Close()
}

// BenchmarkSessionAdmit is what the rate limits cost each signalling frame.
func BenchmarkSessionAdmit(b *testing.B) {
	limits := withDefaults(room.Limits{SignalRate: 1e12, SignalBurst: 1e9, SignalByteRate: 1e15, SignalByteBurst: 1e12})
	s := &Session{limits: limits, now: time.Now}
	s.frames = rate.NewLimiter(rate.Limit(limits.SignalRate), int(limits.SignalBurst))
	s.bytes = rate.NewLimiter(rate.Limit(limits.SignalByteRate), int(limits.SignalByteBurst))
	b.ReportAllocs()
	for b.Loop() {
		if !s.admit(200) {
			b.Fatal("refused")
		}
	}
}
