package fifo

import "sync/atomic"

// Serial is a bounded FIFO of functions run in order by one goroutine of its own: a room
// participant's control queue, where every change of its state happens, so that negotiation
// never glares and callbacks never deadlock.
type Serial struct {
	ops  *Queue[func()]
	done chan struct{}
}

// NewSerial starts a Serial that holds at most capacity functions waiting.
func NewSerial(capacity int) *Serial {
	q := &Serial{ops: New[func()](capacity), done: make(chan struct{})}
	go q.run()
	return q
}

// Push appends op; it reports false when the queue is closed or full (op will not run).
func (q *Serial) Push(op func()) bool { return q.ops.Push(op) == nil }

// PushOnce queues op unless an op queued with the same flag has not started yet: work that
// reads the current state when it runs (reconcile, allocate) needs to run once, not once per
// reason. It reports whether op is (or already was) waiting.
func (q *Serial) PushOnce(waiting *atomic.Bool, op func()) bool {
	if !waiting.CompareAndSwap(false, true) {
		return true
	}
	if !q.Push(func() { waiting.Store(false); op() }) {
		waiting.Store(false)
		return false
	}
	return true
}

// Close stops accepting ops; ops already queued still run. Safe to call from an op.
func (q *Serial) Close() { q.ops.Close() }

func (q *Serial) run() {
	defer close(q.done)
	var batch []func()
	for {
		var closed bool
		batch, closed = q.ops.Take(batch[:0])
		for i, op := range batch {
			batch[i] = nil // let the GC have what the op holds once it ran
			op()
		}
		if len(batch) > 0 {
			continue
		}
		if closed {
			return
		}
		<-q.ops.Wake()
	}
}
