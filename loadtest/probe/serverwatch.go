package probe

import (
	"context"
	"sync"
	"time"
)

// Watch samples the server process every second: the latest sample for the progress line
// and the peak resident memory, which a start and an end sample would miss.
type Watch struct {
	probe    ServerProbe // the window's start and end: everything the report needs
	periodic ServerProbe // every second: only what the progress line and the peak need

	mu      sync.Mutex
	last    ProcessSample
	peakRSS float64
	err     error
	ok      bool
}

// Sample reads everything the report needs (the window's start and end).
func (w *Watch) Sample(ctx context.Context) (ProcessSample, error) {
	return w.take(ctx, w.probe, false)
}

// NewWatch watches the server through probe.
func NewWatch(probe ServerProbe) *Watch {
	w := &Watch{probe: probe, periodic: probe}
	if p, ok := probe.(ProcProbe); ok {
		// /proc costs the server nothing; a /metrics scrape (for the allocation count, needed
		// at the window's ends only) costs it a Prometheus gather and an HTTP request, a
		// visible share of a small meeting's CPU if done every second (docs/benchmarks.md).
		w.periodic = ProcProbe{PID: p.PID}
	}
	return w
}

// Run samples until ctx ends.
func (w *Watch) Run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.tick(ctx)
		}
	}
}

// tick is the periodic sample: it updates the latest figures and the peak, keeping the last
// allocation count (which only the full sample reads).
func (w *Watch) tick(ctx context.Context) { _, _ = w.take(ctx, w.periodic, true) }

func (w *Watch) take(ctx context.Context, probe ServerProbe, keepMallocs bool) (ProcessSample, error) {
	s, err := probe.Sample(ctx)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		w.err = err
		return s, err
	}
	if keepMallocs {
		s.Mallocs, s.HasMallocs = w.last.Mallocs, w.last.HasMallocs
	}
	w.last, w.ok, w.err = s, true, nil
	w.peakRSS = max(w.peakRSS, s.RSSBytes)
	return s, nil
}

// State is the latest periodic sample, the peak resident memory, whether a sample succeeded
// and the last error.
func (w *Watch) State() (last ProcessSample, peakRSS float64, ok bool, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last, w.peakRSS, w.ok, w.err
}
