// Package fifo is the tree's one queue: bounded, first in first out, for any number of
// producers and one consumer. A producer never blocks: Push refuses what would go over the
// bound, and the owner decides what a refusal means (close a slow client, drop, fail).
package fifo

import (
	"errors"
	"slices"
	"sync"
)

// Push's refusals.
var (
	ErrFull   = errors.New("fifo: full")
	ErrClosed = errors.New("fifo: closed")
)

// shrinkOver is the buffer length above which an emptied queue gives its buffer back: a burst
// should not pin its peak memory for the rest of a long session.
const shrinkOver = 64

// Queue is a bounded FIFO. The zero value is not usable; use New or NewSized.
type Queue[T any] struct {
	maxItems int
	maxSize  int         // bound on the sum of size(item), with size
	size     func(T) int // nil: no bound by size

	mu      sync.Mutex
	buf     []T // ring: items are buf[head], buf[head+1 mod len], … n of them
	head, n int
	used    int // sum of size over the waiting items
	closed  bool

	wake chan struct{} // capacity 1: "items or closed changed"
}

// New returns a queue that holds at most maxItems (at least 1).
func New[T any](maxItems int) *Queue[T] {
	return &Queue[T]{maxItems: max(1, maxItems), wake: make(chan struct{}, 1)}
}

// NewSized returns a queue that holds at most maxItems and at most maxSize in all, each item
// counting size(item), which must not change while the item waits. An item larger than maxSize
// is never accepted.
func NewSized[T any](maxItems, maxSize int, size func(T) int) *Queue[T] {
	q := New[T](maxItems)
	q.maxSize, q.size = maxSize, size
	return q
}

// Push appends v. It never blocks: it returns ErrFull when v would go over a bound and
// ErrClosed after Close or Discard; v is then not queued.
func (q *Queue[T]) Push(v T) error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return ErrClosed
	}
	sz := 0
	if q.size != nil {
		sz = q.size(v)
	}
	if q.n >= q.maxItems || (q.size != nil && q.used+sz > q.maxSize) {
		q.mu.Unlock()
		return ErrFull
	}
	if q.n == len(q.buf) {
		q.grow()
	}
	q.buf[(q.head+q.n)%len(q.buf)] = v
	q.n++
	q.used += sz
	q.mu.Unlock()
	q.notify()
	return nil
}

// grow doubles the ring (up to maxItems), keeping the items in order from index 0.
func (q *Queue[T]) grow() {
	buf := make([]T, min(max(8, 2*len(q.buf)), q.maxItems))
	q.copyOut(buf)
	q.buf, q.head = buf, 0
}

// copyOut copies the waiting items, in order, to the start of dst.
func (q *Queue[T]) copyOut(dst []T) {
	if q.n == 0 {
		return
	}
	end := q.head + q.n
	if end <= len(q.buf) {
		copy(dst, q.buf[q.head:end])
		return
	}
	k := copy(dst, q.buf[q.head:])
	copy(dst[k:], q.buf[:end-len(q.buf)])
}

// clearLocked empties the queue and lets the GC have what it held.
func (q *Queue[T]) clearLocked() {
	if len(q.buf) > shrinkOver {
		q.buf = nil
	} else {
		clear(q.buf)
	}
	q.head, q.n, q.used = 0, 0, 0
}

// Close stops accepting items; those waiting are still handed out. It reports whether this
// call closed the queue (false if it already was).
func (q *Queue[T]) Close() bool {
	q.mu.Lock()
	was := q.closed
	q.closed = true
	q.mu.Unlock()
	q.notify()
	return !was
}

// Discard closes the queue and drops the items waiting. It reports whether this call closed
// the queue, so that of several producers refused at once exactly one acts on it.
func (q *Queue[T]) Discard() bool {
	q.mu.Lock()
	was := q.closed
	q.closed = true
	q.clearLocked()
	q.mu.Unlock()
	q.notify()
	return !was
}

// Len is the number of items waiting.
func (q *Queue[T]) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}

// Size is the sum of size(item) over the items waiting; 0 for a queue without a size bound.
func (q *Queue[T]) Size() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.used
}

// Wake receives a value after items arrive or the queue closes. It is for the one consumer:
// after taking everything (Take) it waits here; a wake may be stale, so it takes again.
func (q *Queue[T]) Wake() <-chan struct{} { return q.wake }

func (q *Queue[T]) notify() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Take appends every waiting item to dst, in order, and empties the queue. closed reports
// whether the queue was closed when it did: with an empty batch, the consumer's work is over.
func (q *Queue[T]) Take(dst []T) (batch []T, closed bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n > 0 {
		start := len(dst)
		dst = slices.Grow(dst, q.n)[:start+q.n]
		q.copyOut(dst[start:])
		q.clearLocked()
	}
	return dst, q.closed
}

// Next waits for the next item and removes it. It returns false once the queue is closed and
// empty. One consumer only.
func (q *Queue[T]) Next() (T, bool) {
	for {
		q.mu.Lock()
		if q.n > 0 {
			v := q.buf[q.head]
			var zero T
			q.buf[q.head] = zero
			q.head = (q.head + 1) % len(q.buf)
			q.n--
			if q.size != nil {
				q.used -= q.size(v)
			}
			if q.n == 0 {
				q.clearLocked()
			}
			q.mu.Unlock()
			return v, true
		}
		closed := q.closed
		q.mu.Unlock()
		if closed {
			var zero T
			return zero, false
		}
		<-q.wake
	}
}
