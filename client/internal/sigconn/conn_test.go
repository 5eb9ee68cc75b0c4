package sigconn

import (
	"context"
	"errors"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/podium-sfu/podium/protocol"
)

// running is a Conn whose Run goroutine the test owns.
type running struct {
	*Conn
	msgs    chan protocol.Message // what Run handed to handle
	done    chan struct{}         // Run returned
	resumes atomic.Int32
}

func dialRun(t *testing.T, fs *fakeServer, cfg Config) *running {
	t.Helper()
	r := &running{msgs: make(chan protocol.Message, 64), done: make(chan struct{})}
	cfg.OnResumed = func() { r.resumes.Add(1) }
	if cfg.PingInterval == 0 {
		cfg.PingInterval = time.Hour // no pings in the way
	}
	c, _, err := Dial(context.Background(), fs.wsURL(), "tok", cfg)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	r.Conn = c
	go func() {
		defer close(r.done)
		c.Run(context.Background(), func(m protocol.Message) bool { r.msgs <- m; return true })
	}()
	t.Cleanup(func() {
		c.Abort()
		<-r.done
	})
	return r
}

func (r *running) next(t *testing.T) protocol.Message {
	t.Helper()
	select {
	case m := <-r.msgs:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("nothing handled")
		return nil
	}
}

func (r *running) ended(t *testing.T) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
}

// noLeaks checks, after the test's other cleanups (its server), that it left no goroutine.
func noLeaks(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
}

func TestRTCURL(t *testing.T) {
	no := false
	for _, tc := range []struct {
		base string
		auto *bool
		want string
	}{
		{"http://h:1/base/", nil, "ws://h:1/base/rtc?access_token=t"},
		{"https://h", nil, "wss://h/rtc?access_token=t"},
		{"ws://h", &no, "ws://h/rtc?access_token=t&autoSubscribe=false"},
	} {
		if got, err := rtcURL(tc.base, "t", tc.auto); err != nil || got != tc.want {
			t.Errorf("rtcURL(%q) = %q, %v; want %q", tc.base, got, err, tc.want)
		}
	}
	if _, err := rtcURL("ftp://h", "t", nil); err == nil {
		t.Error("ftp URL accepted")
	}
}

// Dial: a refusal is a *ConnectError; a resumable join says so; `joined` is complete with its
// joinedParticipants frames, and the frames it took count as read (the resume's seq).
func TestDial(t *testing.T) {
	noLeaks(t)
	fs := newFakeServer(t)
	_, _, err := Dial(context.Background(), fs.wsURL(), "bad", Config{})
	var ce *ConnectError
	if !errors.As(err, &ce) || ce.Status != 401 || ce.Code != "unauthorized" || ce.Message != "token expired" {
		t.Fatalf("refused dial: %v", err)
	}
	fs.query(t)

	j := fs.joined[0].(*protocol.Joined)
	j.More = true
	fs.joined = append(fs.joined, &protocol.JoinedParticipants{
		Participants: []protocol.ParticipantInfo{{Sid: "PA_2"}, {Sid: "PA_3"}}})
	c, joined, err := Dial(context.Background(), fs.wsURL(), "tok", Config{Resume: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Abort()
	if q := fs.query(t); q.Get("access_token") != "tok" || q.Get("resumable") != "1" {
		t.Errorf("query %v", q)
	}
	if len(joined.Participants) != 2 || joined.More || c.rs.lastSeq.Load() != 2 {
		t.Errorf("joined %+v, last seq %d", joined, c.rs.lastSeq.Load())
	}
}

// A lost WebSocket resumes: the client dials with the token and the last frame it read, the
// server replays what came after, and the client resends what the server did not get, each
// frame once, in order.
func TestResumeReplaysBothWays(t *testing.T) {
	noLeaks(t)
	fs := newFakeServer(t)
	r := dialRun(t, fs, Config{Resume: true})
	fs.query(t)
	fs.send(&protocol.ParticipantLeft{Sid: "PA_2"}) // seq 2
	if m := r.next(t); m.MessageType() != "participantLeft" {
		t.Fatalf("handled %s", m.MessageType())
	}
	if err := r.Send(&protocol.Mute{ID: "a", TrackSid: "TR_a"}); err != nil {
		t.Fatal(err)
	}
	if m := fs.next(t).(*protocol.Mute); m.ID != "a" {
		t.Fatalf("got %+v", m)
	}

	// b and c reach a connection about to drop: lost, as in a real outage.
	fs.mu.Lock()
	fs.deaf = true
	fs.mu.Unlock()
	_ = r.Send(&protocol.Mute{ID: "b", TrackSid: "TR_b"})
	_ = r.Send(&protocol.Mute{ID: "c", TrackSid: "TR_c"})
	waitFor(t, "b and c on the old connection", func() bool {
		fs.mu.Lock()
		defer fs.mu.Unlock()
		return fs.lost == 2
	})
	fs.drop()
	fs.send(&protocol.ParticipantLeft{Sid: "PA_3"}) // seq 3 and 4: the client is away
	fs.send(&protocol.ParticipantLeft{Sid: "PA_4"})

	q := fs.query(t)
	if q.Get("resume") != resumeToken || q.Get("seq") != "2" || q.Get("access_token") != "tok" {
		t.Errorf("resume query %v", q)
	}
	var ids []string
	for range 2 {
		ids = append(ids, fs.next(t).(*protocol.Mute).ID)
	}
	if !reflect.DeepEqual(ids, []string{"b", "c"}) {
		t.Errorf("resent %v, want [b c]", ids)
	}
	for _, want := range []string{"PA_3", "PA_4"} {
		if m, ok := r.next(t).(*protocol.ParticipantLeft); !ok || m.Sid != want {
			t.Fatalf("replayed %+v, want left %s", m, want)
		}
	}
	// New frames both ways after the replay; nothing came twice.
	_ = r.Send(&protocol.Mute{ID: "d", TrackSid: "TR_d"})
	if m := fs.next(t).(*protocol.Mute); m.ID != "d" {
		t.Errorf("after the resume: %+v", m)
	}
	fs.send(&protocol.ParticipantLeft{Sid: "PA_5"})
	if m := r.next(t).(*protocol.ParticipantLeft); m.Sid != "PA_5" {
		t.Errorf("after the resume: %+v", m)
	}
	fs.mu.Lock()
	dups := fs.dups
	fs.mu.Unlock()
	if dups != 0 || r.resumes.Load() != 1 {
		t.Errorf("%d client frames received twice, %d resumes", dups, r.resumes.Load())
	}
	select {
	case m := <-r.msgs:
		t.Errorf("handled again: %s", mustJSON(m))
	default:
	}
}

// A server that no longer has the session refuses the resume, before the upgrade or with an
// `error`: the session ends at once, without waiting out the window.
func TestResumeRefused(t *testing.T) {
	for _, how := range []string{"409", "error"} {
		t.Run(how, func(t *testing.T) {
			fs := newFakeServer(t)
			fs.refuse = how
			r := dialRun(t, fs, Config{Resume: true})
			fs.query(t)
			fs.drop()
			if q := fs.query(t); q.Get("resume") != resumeToken {
				t.Errorf("no resume tried: %v", q)
			}
			r.ended(t)
			if r.resumes.Load() != 0 {
				t.Error("resumed")
			}
			if err := r.Send(&protocol.Ping{}); !errors.Is(err, ErrClosed) {
				t.Errorf("send after the end: %v", err)
			}
		})
	}
}

// Abort ends the session even when it could resume: the client meant to drop it.
func TestAbortDoesNotResume(t *testing.T) {
	noLeaks(t)
	fs := newFakeServer(t)
	r := dialRun(t, fs, Config{Resume: true})
	fs.query(t)
	r.Abort()
	r.ended(t)
	select {
	case q := <-fs.queries:
		t.Errorf("dialled again after Abort: %v", q)
	case <-time.After(300 * time.Millisecond): // a resume dials at once
	}
}

// Request: the reply with its id comes back, an `error` as a *protocol.Error; a waiter is
// released with ErrClosed when the session ends.
func TestRequestReplies(t *testing.T) {
	noLeaks(t)
	fs := newFakeServer(t)
	r := dialRun(t, fs, Config{})
	fs.query(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	go func() { // the server's side: one reply to each request
		for m := range fs.got {
			switch m := m.(type) {
			case *protocol.UpdateMetadata:
				fs.send(&protocol.Pong{ID: "other", TS: 1})
				fs.send(&protocol.Pong{ID: m.ID, TS: 2})
			case *protocol.Unpublish:
				fs.send(&protocol.Error{ID: m.ID, Code: protocol.CodeNotFound})
			}
		}
	}()
	handle := func() { // the client's dispatch: replies by id
		for m := range r.msgs {
			switch m := m.(type) {
			case *protocol.Pong:
				r.Deliver(m.ID, m)
			case *protocol.Error:
				r.Deliver(m.ID, m)
			}
		}
	}
	go handle()
	name := "n"
	reply, err := r.Request(ctx, &protocol.UpdateMetadata{Name: &name})
	if p, ok := reply.(*protocol.Pong); err != nil || !ok || p.TS != 2 {
		t.Fatalf("reply %+v, %v", reply, err)
	}
	_, err = r.Request(ctx, &protocol.Unpublish{TrackSid: "TR_x"})
	var perr *protocol.Error
	if !errors.As(err, &perr) || perr.Code != protocol.CodeNotFound {
		t.Fatalf("error reply: %v", err)
	}
	if _, err := r.Request(ctx, &protocol.Leave{}); err == nil {
		t.Error("leave sent as a request")
	}

	ch := r.Expect("never")
	fs.drop()
	if _, err := r.Await(ctx, ch); !errors.Is(err, ErrClosed) {
		t.Errorf("await after the end: %v", err)
	}
	r.ended(t)
	close(r.msgs)
	fs.close()
	close(fs.got)
}

func mustJSON(m protocol.Message) string {
	b, _ := protocol.Encode(m)
	return string(b)
}
