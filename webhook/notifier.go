package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/podium-sfu/podium/internal/fifo"
)

// Config says where events go and how hard to try.
type Config struct {
	URLs           []string // http:// or https://; each gets every event, in order
	APIKey, Secret string   // the deliveries are signed with this pair
	// QueueSize bounds the events waiting per URL (default 1024); past it new events are
	// dropped, counted and logged: a receiver that is down must not grow the server.
	QueueSize int
	// RetryFor is how long one event is retried before it is given up (default 2 min); the
	// events behind it wait, so order holds.
	RetryFor time.Duration
	// Timeout bounds one attempt (default 5 s).
	Timeout  time.Duration
	Client   *http.Client // default: a client of its own
	Logger   *slog.Logger
	Registry prometheus.Registerer // nil: no metrics

	now   func() time.Time                                 // test hook; default time.Now
	sleep func(ctx context.Context, d time.Duration) error // test hook; default a timer
}

func (c *Config) defaults() {
	if c.QueueSize <= 0 {
		c.QueueSize = 1024
	}
	if c.RetryFor <= 0 {
		c.RetryFor = 2 * time.Minute
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Second
	}
	if c.Client == nil {
		c.Client = &http.Client{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.sleep == nil {
		c.sleep = func(ctx context.Context, d time.Duration) error {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
}

// Backoff between attempts: doubling from the first to the cap.
const (
	firstBackoff = 500 * time.Millisecond
	maxBackoff   = 10 * time.Second
)

// Notifier posts events to every configured URL, one delivery goroutine per URL.
type Notifier struct {
	cfg       Config
	endpoints []*endpoint
	results   *prometheus.CounterVec

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type endpoint struct {
	url   string
	queue *fifo.Queue[[]byte] // the encoded events waiting
}

// New checks the config and starts the delivery goroutines. Without URLs it returns a notifier
// that drops everything, so callers need no nil checks.
func New(cfg Config) (*Notifier, error) {
	cfg.defaults()
	if len(cfg.URLs) > 0 && (cfg.APIKey == "" || cfg.Secret == "") {
		return nil, errors.New("webhook: an API key and secret are needed to sign deliveries")
	}
	n := &Notifier{cfg: cfg}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	n.results = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "podium_webhook_events_total",
		Help: "Webhook events by outcome per URL: delivered, failed (given up after retries or refused), dropped (queue full).",
	}, []string{"result"})
	for _, r := range []string{"delivered", "failed", "dropped"} {
		n.results.WithLabelValues(r) // exported at 0 from the start, so dashboards find them
	}
	if cfg.Registry != nil {
		if err := cfg.Registry.Register(n.results); err != nil {
			return nil, fmt.Errorf("webhook metrics: %w", err)
		}
	}
	for _, raw := range cfg.URLs {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("webhook URL %q: want http:// or https:// and a host", raw)
		}
		n.endpoints = append(n.endpoints, &endpoint{url: raw, queue: fifo.New[[]byte](cfg.QueueSize)})
	}
	for _, e := range n.endpoints {
		n.wg.Add(1)
		go n.run(e)
	}
	return n, nil
}

// Notify queues ev for every URL and returns at once. It fills the id and time if unset.
func (n *Notifier) Notify(ev Event) {
	if n == nil || len(n.endpoints) == 0 {
		return
	}
	if ev.ID == "" {
		ev.ID = newID()
	}
	if ev.CreatedAt == 0 {
		ev.CreatedAt = n.cfg.now().Unix()
	}
	body, err := json.Marshal(ev)
	if err != nil {
		n.cfg.Logger.Error("webhook event not encodable", "event", ev.Event, "err", err)
		return
	}
	for _, e := range n.endpoints {
		if err := e.queue.Push(body); errors.Is(err, fifo.ErrFull) {
			n.results.WithLabelValues("dropped").Inc()
			n.cfg.Logger.Warn("webhook queue full: event dropped", "url", e.url, "event", ev.Event, "queued", n.cfg.QueueSize)
		}
	}
}

// Close stops taking events, delivers what is queued until ctx ends, then abandons the rest.
func (n *Notifier) Close(ctx context.Context) {
	if n == nil {
		return
	}
	for _, e := range n.endpoints {
		e.queue.Close()
	}
	done := make(chan struct{})
	go func() { n.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		n.cancel()
		<-done
	}
	n.cancel()
}

func (n *Notifier) run(e *endpoint) {
	defer n.wg.Done()
	for {
		body, ok := e.queue.Next()
		if !ok {
			return
		}
		n.deliver(e, body)
	}
}

// deliver posts one event until it is taken, refused for good, or RetryFor has passed.
func (n *Notifier) deliver(e *endpoint, body []byte) {
	start := n.cfg.now()
	backoff := firstBackoff
	for attempt := 1; ; attempt++ {
		err := n.post(e.url, body)
		if err == nil {
			n.results.WithLabelValues("delivered").Inc()
			return
		}
		var refused refusedError
		if errors.As(err, &refused) || n.ctx.Err() != nil || n.cfg.now().Add(backoff).Sub(start) > n.cfg.RetryFor {
			n.results.WithLabelValues("failed").Inc()
			n.cfg.Logger.Warn("webhook not delivered", "url", e.url, "attempts", attempt, "err", err)
			return
		}
		if n.cfg.sleep(n.ctx, backoff) != nil {
			n.results.WithLabelValues("failed").Inc()
			return
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// refusedError is an answer that retrying will not change (a 4xx other than 408 and 429).
type refusedError struct{ reason string }

func (r refusedError) Error() string { return r.reason }

func (n *Notifier) post(target string, body []byte) error {
	token, err := sign(n.cfg.APIKey, n.cfg.Secret, body, n.cfg.now())
	if err != nil {
		return refusedError{"signing: " + err.Error()} // a key that cannot sign will not later either
	}
	ctx, cancel := context.WithTimeout(n.ctx, n.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return refusedError{err.Error()}
	}
	req.Header.Set("Content-Type", "application/webhook+json")
	req.Header.Set("Authorization", token)
	resp, err := n.cfg.Client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode != http.StatusTooManyRequests:
		return refusedError{fmt.Sprintf("refused with status %d", resp.StatusCode)}
	default:
		return fmt.Errorf("status %d", resp.StatusCode)
	}
}
