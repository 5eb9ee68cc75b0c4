package signaling

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room"
	"github.com/podium-sfu/podium/sfu"
)

// TestErrorReplyCodes: every room error, wrapped or not, becomes the protocol code the client
// is promised, with the request's id and the error's text.
func TestErrorReplyCodes(t *testing.T) {
	for _, c := range []struct {
		err  error
		code string
	}{
		{room.ErrBadRequest, protocol.CodeBadRequest},
		{room.ErrWrongState, protocol.CodeBadRequest},
		{room.ErrForbidden, protocol.CodeForbidden},
		{room.ErrNotFound, protocol.CodeNotFound},
		{room.ErrLimit, protocol.CodeLimit},
		{room.ErrRoomFull, protocol.CodeLimit},
		{room.ErrConflict, protocol.CodeConflict},
		{room.ErrTooManyRequests, protocol.CodeRateLimited},
		{room.ErrSuperseded, protocol.CodeSuperseded},
		{errors.New("anything else"), protocol.CodeInternal},
	} {
		err := fmt.Errorf("%w: detail", c.err)
		e := errorReply("r1", err)
		if e.Code != c.code || e.ID != "r1" || e.Message != err.Error() {
			t.Errorf("%v: %+v, want code %s", c.err, *e, c.code)
		}
	}
}

// replies is a participant's session in these tests: it keeps what is sent.
type replies struct {
	mu   sync.Mutex
	msgs []protocol.Message
	pong chan string
	done chan struct{}
	once sync.Once
}

func newReplies() *replies {
	return &replies{pong: make(chan string, 16), done: make(chan struct{})}
}

func (r *replies) Send(m protocol.Message) {
	r.mu.Lock()
	r.msgs = append(r.msgs, m)
	r.mu.Unlock()
	if p, ok := m.(*protocol.Pong); ok {
		r.pong <- p.ID
	}
}
func (r *replies) Close()                { r.once.Do(func() { close(r.done) }) }
func (r *replies) Done() <-chan struct{} { return r.done }

// errors returns the error replies, in order.
func (r *replies) errors() []protocol.Error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []protocol.Error
	for _, m := range r.msgs {
		if e, ok := m.(*protocol.Error); ok {
			out = append(out, *e)
		}
	}
	return out
}

// dispatchRoom joins one participant with perms to a room of a real engine.
func dispatchRoom(t *testing.T, limits room.Limits, perms protocol.Permissions) (dispatcher, *replies) {
	t.Helper()
	engine, err := sfu.NewEngine(sfu.Config{LoopbackOnly: true, UDPReaders: 1, TCPPort: -1})
	if err != nil {
		t.Fatal(err)
	}
	mgr := room.NewManager(room.Config{Limits: limits}, engine)
	t.Cleanup(func() { mgr.Close(); _ = engine.Close() })
	out := newReplies()
	p, err := mgr.Join("r", room.JoinParams{Identity: "ann", Permissions: perms, Sink: out})
	if err != nil {
		t.Fatal(err)
	}
	return dispatcher{p: p, out: out}, out
}

// pingWait sends a ping through d and waits for its pong: everything before it was handled.
func pingWait(t *testing.T, d dispatcher, out *replies, id string) {
	t.Helper()
	d.Handle(&protocol.Ping{ID: id})
	select {
	case got := <-out.pong:
		if got != id {
			t.Fatalf("pong %q, want %q", got, id)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no pong within 20 s: the control queue is stuck")
	}
}

// TestDispatchRefusals: each message goes to its participant's method, and what the room
// refuses is answered with the request's id and the right code; the session lives on.
func TestDispatchRefusals(t *testing.T) {
	d, out := dispatchRoom(t, room.Limits{MaxOfferSections: 2}, protocol.Permissions{CanSubscribe: true})
	threeSections := "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
	cases := []struct {
		m    protocol.Message
		code string
	}{
		{&protocol.Answer{ID: "a", Target: protocol.TargetPublisher, SDP: "x"}, protocol.CodeBadRequest},
		{&protocol.Offer{ID: "o", Target: protocol.TargetSubscriber, SDP: "x"}, protocol.CodeBadRequest},
		{&protocol.Publish{ID: "p", CID: "mic", Kind: protocol.KindAudio, Source: protocol.SourceMicrophone}, protocol.CodeForbidden},
		{&protocol.Offer{ID: "big", Target: protocol.TargetPublisher, SDP: threeSections}, protocol.CodeLimit},
		{&protocol.Mute{ID: "m", TrackSid: "TR_none", Muted: true}, protocol.CodeNotFound},
		{&protocol.Pong{ID: "s"}, protocol.CodeBadRequest}, // a server message
	}
	for _, c := range cases {
		d.Handle(c.m)
	}
	pingWait(t, d, out, "after")
	errs := out.errors()
	if len(errs) != len(cases) {
		t.Fatalf("%d errors %+v, want %d", len(errs), errs, len(cases))
	}
	for i, c := range cases {
		if id := protocol.RequestID(c.m); errs[i].ID != id || errs[i].Code != c.code {
			t.Errorf("%s: %+v, want id %q code %s", c.m.MessageType(), errs[i], id, c.code)
		}
	}
}

// TestDispatchQueueLimits: past Limits.PendingRequests a request is refused at once
// (rate_limited), and of two publisher offers waiting the older is superseded; both with
// their request's id.
func TestDispatchQueueLimits(t *testing.T) {
	d, out := dispatchRoom(t, room.Limits{PendingRequests: 2}, protocol.Permissions{CanPublish: true, CanSubscribe: true})
	gate, held := make(chan struct{}), make(chan struct{})
	d.p.Submit(room.Request{Run: func(room.Control) error { close(held); <-gate; return nil }})
	<-held // the queue is busy: what follows waits (a request that runs no longer counts)
	offer := "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
	d.Handle(&protocol.Offer{ID: "o1", Target: protocol.TargetPublisher, SDP: offer})
	d.Handle(&protocol.Offer{ID: "o2", Target: protocol.TargetPublisher, SDP: offer})
	d.Handle(&protocol.Ping{ID: "over"})
	close(gate)
	out.await(t, "o2") // the queue has drained: the ping is under the limit again
	pingWait(t, d, out, "after")
	got := map[string]string{}
	for _, e := range out.errors() {
		got[e.ID] = e.Code
	}
	if got["o1"] != protocol.CodeSuperseded || got["over"] != protocol.CodeRateLimited {
		t.Fatalf("errors by id %v: want o1 superseded and over rate_limited", got)
	}
	if got["o2"] == protocol.CodeSuperseded || got["o2"] == protocol.CodeRateLimited {
		t.Fatalf("the newest offer was refused: %s", got["o2"])
	}
}

// await waits until a reply (an answer or an error) to request id was sent.
func (r *replies) await(t *testing.T, id string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		r.mu.Lock()
		found := slices.ContainsFunc(r.msgs, func(m protocol.Message) bool {
			a, isAnswer := m.(*protocol.Answer)
			e, isError := m.(*protocol.Error)
			return (isAnswer && a.ID == id) || (isError && e.ID == id)
		})
		r.mu.Unlock()
		if found {
			return
		}
	}
	t.Fatalf("no reply to %q within 20 s", id)
}
