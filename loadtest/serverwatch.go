package loadtest

import (
	"context"
	"sync"
	"time"
)

// serverWatch samples the server process every second: the latest sample for the progress line
// and the peak resident memory, which a start and an end sample would miss.
type serverWatch struct {
	probe ServerProbe

	mu      sync.Mutex
	last    ProcessSample
	peakRSS float64
	err     error
	ok      bool
}

func (w *serverWatch) sample(ctx context.Context) (ProcessSample, error) {
	s, err := w.probe.Sample(ctx)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		w.err = err
		return s, err
	}
	w.last, w.ok, w.err = s, true, nil
	w.peakRSS = max(w.peakRSS, s.RSSBytes)
	return s, nil
}

// run samples until ctx ends.
func (w *serverWatch) run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_, _ = w.sample(ctx)
		}
	}
}

func (w *serverWatch) state() (last ProcessSample, peakRSS float64, ok bool, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last, w.peakRSS, w.ok, w.err
}
