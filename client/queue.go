package client

import "sync"

// queue is an unbounded FIFO that one pump goroutine drains into a channel, so that producers
// (the signalling reader, pion callbacks) never block on a consumer that is slow or absent.
type queue[T any] struct {
	mu       sync.Mutex
	items    []T
	finished bool // no more pushes: out closes once the items are delivered

	wake      chan struct{} // capacity 1: "items or finished changed"
	abort     chan struct{} // closed by stop: out closes now, undelivered items are dropped
	abortOnce sync.Once
	out       chan T
}

func newQueue[T any]() *queue[T] {
	return &queue[T]{
		wake:  make(chan struct{}, 1),
		abort: make(chan struct{}),
		out:   make(chan T),
	}
}

// push appends v; it reports false once the queue is finished.
func (q *queue[T]) push(v T) bool {
	q.mu.Lock()
	if q.finished {
		q.mu.Unlock()
		return false
	}
	q.items = append(q.items, v)
	q.mu.Unlock()
	q.notify()
	return true
}

// finish lets the pump deliver what is queued and then close out.
func (q *queue[T]) finish() {
	q.mu.Lock()
	q.finished = true
	q.mu.Unlock()
	q.notify()
}

// stop closes out without waiting for a consumer; queued items are dropped.
func (q *queue[T]) stop() {
	q.finish()
	q.abortOnce.Do(func() { close(q.abort) })
}

func (q *queue[T]) notify() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// run is the pump; it returns after closing out.
func (q *queue[T]) run() {
	defer close(q.out)
	var zero T
	for {
		q.mu.Lock()
		if len(q.items) == 0 {
			done := q.finished
			q.mu.Unlock()
			if done {
				return
			}
			select {
			case <-q.wake:
				continue
			case <-q.abort:
				return
			}
		}
		v := q.items[0]
		q.items[0] = zero // let the GC have it once delivered
		q.items = q.items[1:]
		q.mu.Unlock()
		select {
		case q.out <- v:
		case <-q.abort:
			return
		}
	}
}
