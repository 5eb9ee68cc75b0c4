package client

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/podium-sfu/podium/internal/fifo"
	"github.com/podium-sfu/podium/protocol"
)

func TestConnectRefused(t *testing.T) {
	fs := newFakeServer(t, defaultJoined)
	for _, tc := range []struct {
		token  string
		status int
		code   string
	}{
		{"bad", 401, protocol.CodeUnauthorized},
		{"full", 403, protocol.CodeLimit},
	} {
		_, err := Connect(context.Background(), fs.wsURL(), tc.token, Options{})
		var ce *ConnectError
		if !errors.As(err, &ce) {
			t.Fatalf("token %q: got %v, want a *ConnectError", tc.token, err)
		}
		if ce.Status != tc.status || ce.Code != tc.code || ce.Message == "" {
			t.Errorf("token %q: got %+v", tc.token, ce)
		}
	}
}

func TestConnectURL(t *testing.T) {
	fs := newFakeServer(t, defaultJoined)
	no := false
	c := connect(t, fs, "tok en", Options{AutoSubscribe: &no})
	q, err := url.ParseQuery(<-fs.queries)
	if err != nil {
		t.Fatal(err)
	}
	if q.Get("access_token") != "tok en" || q.Get("autoSubscribe") != "false" {
		t.Errorf("query %v", q)
	}
	_ = c.Close()
}

// The handshake: joined first (state and event), pings on time, replies routed by id, the
// room view kept from events, and a server `leave` ending the session after its backlog.
func TestHandshakeAndEvents(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	fs := newFakeServer(t, defaultJoined)
	c := connect(t, fs, "ok", Options{PingInterval: 20 * time.Millisecond})
	s := fs.session(t)

	if c.Self().Sid != "PA_self" || c.Room().Name != "r1" {
		t.Errorf("self %+v room %+v", c.Self(), c.Room())
	}
	if j, ok := (<-c.Events()).(*protocol.Joined); !ok || j.ServerVersion != "test" {
		t.Fatalf("first event is not joined: %#v", j)
	}

	ping := s.expect(t, "ping").(*protocol.Ping)
	if ping.TS == 0 {
		t.Error("ping without ts")
	}
	s.send(&protocol.Pong{TS: ping.TS})
	if p := nextEvent(t, c, "pong").(*protocol.Pong); p.TS != ping.TS {
		t.Errorf("pong ts %d", p.TS)
	}

	// A request gets its error back by id; the session lives on.
	go func() {
		m := s.expect(t, "mute").(*protocol.Mute)
		s.send(&protocol.Error{ID: m.ID, Code: protocol.CodeNotFound, Message: "no such track"})
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := c.Request(ctx, &protocol.Mute{TrackSid: "TR_x", Muted: true})
	var perr *protocol.Error
	if !errors.As(err, &perr) || perr.Code != protocol.CodeNotFound {
		t.Fatalf("request error = %v", err)
	}

	carol := protocol.ParticipantInfo{Sid: "PA_3", Identity: "carol"}
	s.send(&protocol.ParticipantJoined{Participant: carol})
	s.send(&protocol.TrackPublished{ParticipantSid: "PA_3", Track: protocol.TrackInfo{Sid: "TR_5", Kind: protocol.KindAudio}})
	s.send(&protocol.ParticipantLeft{Sid: "PA_2"})
	nextEvent(t, c, "participantLeft")
	ps := c.Participants()
	if len(ps) != 1 || ps[0].Sid != "PA_3" || len(ps[0].Tracks) != 1 || ps[0].Tracks[0].Sid != "TR_5" {
		t.Errorf("participants %s", mustJSON(t, ps))
	}

	s.send(&protocol.ParticipantUpdated{Participant: protocol.ParticipantInfo{Sid: "PA_self", Name: "Me"}})
	s.send(&protocol.Leave{Reason: protocol.LeaveKicked})
	nextEvent(t, c, "participantUpdated")
	if l := nextEvent(t, c, "leave").(*protocol.Leave); l.Reason != protocol.LeaveKicked {
		t.Errorf("leave %+v", l)
	}
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("not done after leave")
	}
	if c.LeaveReason() != protocol.LeaveKicked {
		t.Errorf("leave reason %q", c.LeaveReason())
	}
	if self := c.Self(); self.Name != "Me" || self.Permissions == nil {
		t.Errorf("self after update %+v", self)
	}
	if _, ok := <-c.Events(); ok {
		t.Error("events still open after leave")
	}
	if err := c.Send(&protocol.Ping{}); !errors.Is(err, ErrClosed) {
		t.Errorf("send after the end: %v", err)
	}
	_ = c.Close()
	fs.close()
}

func TestCloseSendsLeave(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	fs := newFakeServer(t, defaultJoined)
	c := connect(t, fs, "ok", Options{})
	s := fs.session(t)
	events := c.Events() // nobody reads: Close must not wait for a consumer
	_ = events
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	s.expect(t, "leave")
	select {
	case <-c.Done():
	default:
		t.Error("Close returned before done")
	}
	fs.close()
}

func TestKillSendsNoLeave(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	fs := newFakeServer(t, defaultJoined)
	c := connect(t, fs, "ok", Options{})
	s := fs.session(t)
	c.Kill()
	for m := range s.in {
		if m.MessageType() == "leave" {
			t.Error("Kill sent leave")
		}
	}
	fs.close()
}

func TestBadFramesAndRawSend(t *testing.T) {
	fs := newFakeServer(t, defaultJoined)
	c := connect(t, fs, "ok", Options{})
	s := fs.session(t)
	// The server's garbage is skipped, not fatal.
	s.wmu.Lock()
	_ = s.ws.WriteMessage(1, []byte(`{"type":"nonsense"}`))
	s.wmu.Unlock()
	s.send(&protocol.ParticipantLeft{Sid: "PA_2"})
	nextEvent(t, c, "participantLeft")

	if err := c.SendFrame([]byte(`{"type":`)); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.bad:
		var perr *protocol.Error
		if !errors.As(err, &perr) || perr.Code != protocol.CodeBadRequest {
			t.Errorf("decode error %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("raw frame not received")
	}
}

func TestQueueDrainsThenCloses(t *testing.T) {
	q := newQueue(fifo.New[int](1000))
	done := make(chan struct{})
	go func() { q.run(); close(done) }()
	for i := range 1000 {
		q.push(i)
	}
	q.finish()
	q.push(-1) // after finish: dropped
	n := 0
	for v := range q.out {
		if v != n {
			t.Fatalf("got %d, want %d", v, n)
		}
		n++
	}
	if n != 1000 {
		t.Errorf("delivered %d", n)
	}
	<-done

	q = newQueue(fifo.New[int](1))
	go q.run()
	q.push(1)
	q.stop() // nobody reads: the pump must still end
	for range q.out {
	}
}

// A caller that stops reading Events does not grow the client without end: at the bound the
// session ends (slow_consumer), and what was queued before is still delivered, in order.
func TestUnreadEventsEndTheSession(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	fs := newFakeServer(t, defaultJoined)
	const bound = 8
	c := connect(t, fs, "ok", Options{maxUndelivered: bound})
	s := fs.session(t)
	for i := range 3 * bound {
		s.send(&protocol.ParticipantJoined{Participant: protocol.ParticipantInfo{Sid: fmt.Sprint("PA_x", i)}})
	}
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the session went on with its Events unread")
	}
	if r := c.LeaveReason(); r != protocol.LeaveSlowConsumer {
		t.Errorf("leave reason %q, want %s", r, protocol.LeaveSlowConsumer)
	}
	// The pump may hold one message in hand, so up to bound+1 come out: joined, then the
	// participants in order, then Events closes.
	n := 0
	for m := range c.Events() {
		if n == 0 {
			if _, ok := m.(*protocol.Joined); !ok {
				t.Fatalf("first event %s", m.MessageType())
			}
		} else if pj, ok := m.(*protocol.ParticipantJoined); !ok || pj.Participant.Sid != fmt.Sprint("PA_x", n-1) {
			t.Fatalf("event %d: %s", n, mustJSON(t, m))
		}
		n++
	}
	if n < bound || n > bound+1 {
		t.Errorf("%d events delivered, want %d or %d", n, bound, bound+1)
	}
	_ = c.Close()
	fs.close()
}
