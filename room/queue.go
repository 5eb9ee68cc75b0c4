package room

import "sync"

// opQueue is an unbounded FIFO of functions run by one goroutine: every change to a participant's
// state happens there, in order, so negotiation never glares and callbacks never deadlock.
type opQueue struct {
	mu     sync.Mutex
	ops    []func()
	wake   chan struct{}
	closed bool
	done   chan struct{}
}

func newOpQueue() *opQueue {
	q := &opQueue{wake: make(chan struct{}, 1), done: make(chan struct{})}
	go q.run()
	return q
}

// push appends op; it reports false when the queue is closed (op will not run).
func (q *opQueue) push(op func()) bool {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return false
	}
	q.ops = append(q.ops, op)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return true
}

// close stops accepting ops; ops already queued still run. Safe to call from an op.
func (q *opQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *opQueue) run() {
	defer close(q.done)
	for {
		q.mu.Lock()
		ops := q.ops
		q.ops = nil
		closed := q.closed
		q.mu.Unlock()
		for _, op := range ops {
			op()
		}
		if len(ops) > 0 {
			continue
		}
		if closed {
			return
		}
		<-q.wake
	}
}
