package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/podium-sfu/podium/protocol"
)

const (
	testKey    = "hookkey"
	testSecret = "0123456789abcdef0123456789abcdef"
)

func TestVerify(t *testing.T) {
	now := time.Now()
	body := []byte(`{"event":"room_started"}`)
	token, err := sign(testKey, testSecret, body, now)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]string{testKey: testSecret}
	if err := Verify(token, body, keys); err != nil {
		t.Fatalf("a genuine delivery: %v", err)
	}
	old, _ := sign(testKey, testSecret, body, now.Add(-time.Hour))
	for _, c := range []struct {
		name  string
		token string
		body  []byte
		keys  map[string]string
		want  error
	}{
		{"changed body", token, []byte(`{"event":"room_finished"}`), keys, ErrBodyChanged},
		{"other secret", token, body, map[string]string{testKey: strings.Repeat("x", 32)}, ErrBadToken},
		{"unknown key", token, body, map[string]string{"other": testSecret}, ErrBadToken},
		{"no token", "", body, keys, ErrNoToken},
		{"expired", old, body, keys, ErrBadToken},
		{"unsigned", "eyJhbGciOiJub25lIn0." + strings.SplitN(token, ".", 3)[1] + ".", body, keys, ErrBadToken},
	} {
		if err := Verify(c.token, c.body, c.keys); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

// receiver is a backend's webhook endpoint: it verifies each delivery and keeps the events.
type receiver struct {
	mu     sync.Mutex
	events []Event
	bad    []error
	fail   func() bool // answer 503 while it says so
	tries  int
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tries++
	if r.fail != nil && r.fail() {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	if err := Verify(req.Header.Get("Authorization"), body, map[string]string{testKey: testSecret}); err != nil {
		r.bad = append(r.bad, err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var ev Event
	if err := json.Unmarshal(body, &ev); err != nil {
		r.bad = append(r.bad, err)
	}
	r.events = append(r.events, ev)
}

func (r *receiver) names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		out = append(out, e.Event+":"+e.Participant.Identity)
	}
	return out
}

// fakeClock: sleeping advances it at once, so retries over minutes take no real time.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
	return ctx.Err()
}

func script() []Event {
	var evs []Event
	for _, id := range []string{"ann", "bob", "cy"} {
		p := &protocol.ParticipantInfo{Identity: id}
		evs = append(evs, Event{Event: ParticipantJoined, Participant: p},
			Event{Event: TrackPublished, Participant: p, Track: &protocol.TrackInfo{Sid: "TR_" + id}})
	}
	return evs
}

func expected() []string {
	var out []string
	for _, e := range script() {
		out = append(out, e.Event+":"+e.Participant.Identity)
	}
	return out
}

func TestEveryEventArrivesInOrderSigned(t *testing.T) {
	rcv := &receiver{}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	reg := prometheus.NewRegistry()
	n, err := New(Config{URLs: []string{srv.URL}, APIKey: testKey, Secret: testSecret, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range script() {
		n.Notify(ev)
	}
	n.Close(context.Background())
	if got, want := strings.Join(rcv.names(), " "), strings.Join(expected(), " "); got != want {
		t.Fatalf("received %s\nwant     %s", got, want)
	}
	if len(rcv.bad) > 0 {
		t.Fatalf("deliveries that did not verify: %v", rcv.bad)
	}
	ids := map[string]bool{}
	for _, e := range rcv.events {
		if e.ID == "" || ids[e.ID] || e.CreatedAt == 0 {
			t.Fatalf("event without a unique id or time: %+v", e)
		}
		ids[e.ID] = true
	}
	if got := testutil.ToFloat64(n.results.WithLabelValues("delivered")); got != float64(len(script())) {
		t.Fatalf("delivered counter %v", got)
	}
}

// A receiver down for 10 s (on the injected clock) and then back gets every event, in order.
func TestReceiverDownFor10SecondsGetsEverything(t *testing.T) {
	clock := &fakeClock{now: time.Now()} // tokens are checked against the real clock
	back := clock.Now().Add(10 * time.Second)
	rcv := &receiver{fail: func() bool { return clock.Now().Before(back) }}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	cfg := Config{URLs: []string{srv.URL}, APIKey: testKey, Secret: testSecret, RetryFor: time.Minute}
	cfg.now, cfg.sleep = clock.Now, clock.Sleep
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range script() {
		n.Notify(ev)
	}
	n.Close(context.Background())
	if got, want := strings.Join(rcv.names(), " "), strings.Join(expected(), " "); got != want {
		t.Fatalf("received %s\nwant     %s", got, want)
	}
	if rcv.tries <= len(script()) {
		t.Fatalf("%d attempts: the receiver was never down", rcv.tries)
	}
}

func TestGivesUpAfterRetryFor(t *testing.T) {
	clock := &fakeClock{now: time.Now()} // tokens are checked against the real clock
	rcv := &receiver{fail: func() bool { return true }}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	cfg := Config{URLs: []string{srv.URL}, APIKey: testKey, Secret: testSecret, RetryFor: 30 * time.Second}
	cfg.now, cfg.sleep = clock.Now, clock.Sleep
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	start := clock.Now()
	n.Notify(script()[0])
	n.Close(context.Background())
	if spent := clock.Now().Sub(start); spent > 30*time.Second || spent < 20*time.Second {
		t.Fatalf("retried for %v, want about RetryFor (30 s)", spent)
	}
	if got := testutil.ToFloat64(n.results.WithLabelValues("failed")); got != 1 {
		t.Fatalf("failed counter %v", got)
	}
}

func TestRefusalIsNotRetried(t *testing.T) {
	rcv := &receiver{}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	// Signed with a secret the receiver does not know: it answers 401 every time.
	n, err := New(Config{URLs: []string{srv.URL}, APIKey: testKey, Secret: strings.Repeat("y", 32)})
	if err != nil {
		t.Fatal(err)
	}
	n.Notify(script()[0])
	n.Close(context.Background())
	if rcv.tries != 1 || len(rcv.bad) != 1 {
		t.Fatalf("%d attempts, %d refused; want one of each", rcv.tries, len(rcv.bad))
	}
}

// A receiver that never answers slows no caller: Notify returns at once, and past the queue
// events are dropped and counted.
func TestReceiverThatNeverAnswersSlowsNothing(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	n, err := New(Config{URLs: []string{srv.URL}, APIKey: testKey, Secret: testSecret, QueueSize: 16})
	if err != nil {
		t.Fatal(err)
	}
	const events = 2000
	for range events {
		n.Notify(script()[0])
	}
	dropped := testutil.ToFloat64(n.results.WithLabelValues("dropped"))
	if dropped < events-16-1 {
		t.Fatalf("%v dropped of %d with a queue of 16", dropped, events)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	n.Close(ctx) // returns once ctx ends, abandoning the hung delivery
	n.Notify(script()[0])
}

func TestNewChecksItsConfig(t *testing.T) {
	for _, c := range []Config{
		{URLs: []string{"ftp://example.com/hook"}, APIKey: testKey, Secret: testSecret},
		{URLs: []string{"http://"}, APIKey: testKey, Secret: testSecret},
		{URLs: []string{"http://127.0.0.1:9/hook"}},
	} {
		if _, err := New(c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	n, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	n.Notify(script()[0]) // no URLs: dropped quietly
	n.Close(context.Background())
}
