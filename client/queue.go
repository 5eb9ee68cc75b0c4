package client

import (
	"errors"
	"sync"

	"github.com/podium-sfu/podium/internal/fifo"
)

// What may wait for the caller on Events, Tracks and Data. A caller that reads them, even
// slowly, never comes near: the server sends a few messages a second and at most a few
// hundred tracks. One that stops reading would otherwise grow the client without end; at the
// bound the client ends its session instead (see overrun).
const (
	maxUndelivered      = 1 << 16  // messages, tracks or data packets, each
	maxUndeliveredBytes = 64 << 20 // of data packets
)

// queue holds what waits for the caller and one pump goroutine delivers it on out, so that
// producers (the signalling reader, pion callbacks) never block on a consumer that is slow or
// absent.
type queue[T any] struct {
	q         *fifo.Queue[T]
	abort     chan struct{} // closed by stop: out closes now, undelivered items are dropped
	abortOnce sync.Once
	out       chan T
}

func newQueue[T any](q *fifo.Queue[T]) *queue[T] {
	return &queue[T]{q: q, abort: make(chan struct{}), out: make(chan T)}
}

// push appends v. It reports false only when the caller left maxUndelivered waiting; after
// finish, v is dropped and push reports true (the session is over, nothing is owed).
func (q *queue[T]) push(v T) bool { return !errors.Is(q.q.Push(v), fifo.ErrFull) }

// finish lets the pump deliver what is queued and then close out.
func (q *queue[T]) finish() { q.q.Close() }

// stop closes out without waiting for a consumer; queued items are dropped.
func (q *queue[T]) stop() {
	q.q.Discard()
	q.abortOnce.Do(func() { close(q.abort) })
}

// run is the pump; it returns after closing out.
func (q *queue[T]) run() {
	defer close(q.out)
	for {
		v, ok := q.q.Next()
		if !ok {
			return
		}
		select {
		case q.out <- v:
		case <-q.abort:
			return
		}
	}
}
