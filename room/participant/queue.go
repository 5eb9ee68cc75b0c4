package participant

import (
	"sync/atomic"

	"github.com/podium-sfu/podium/internal/fifo"
)

// queueCapacity bounds a participant's control queue. Client requests are held to
// Limits.PendingRequests and the room's periodic work is coalesced (one job of each kind
// waiting at most), so a full queue means a bug, not a busy client.
const queueCapacity = 4096

// opQueue is a bounded FIFO of functions run by one goroutine: every change to a participant's
// state happens there, in order, so negotiation never glares and callbacks never deadlock.
type opQueue struct {
	ops  *fifo.Queue[func()]
	done chan struct{}
}

func newOpQueue() *opQueue {
	q := &opQueue{ops: fifo.New[func()](queueCapacity), done: make(chan struct{})}
	go q.run()
	return q
}

// push appends op; it reports false when the queue is closed or full (op will not run).
func (q *opQueue) push(op func()) bool { return q.ops.Push(op) == nil }

// pushOnce queues op unless an op queued with the same flag has not started yet: work that
// reads the current state when it runs (reconcile, allocate) needs to run once, not once per
// reason. It reports whether op is (or already was) waiting.
func (q *opQueue) pushOnce(waiting *atomic.Bool, op func()) bool {
	if !waiting.CompareAndSwap(false, true) {
		return true
	}
	if !q.push(func() { waiting.Store(false); op() }) {
		waiting.Store(false)
		return false
	}
	return true
}

// close stops accepting ops; ops already queued still run. Safe to call from an op.
func (q *opQueue) close() { q.ops.Close() }

func (q *opQueue) run() {
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
