// Package fanout spreads one published track's subscribers over a few long-lived writer
// goroutines, so that the media socket's reader hands a packet on and reads the next one
// instead of encrypting and sending it to every subscriber itself: a large fan-out (a keyframe
// to hundreds) then no longer holds up another publisher's packets on the same socket
// (head-of-line, issue 16). The idea is Galène's writer pool: about √N writers for N
// subscribers, each with its own bounded queue of references to packets stored once.
//
// A member (a down track) belongs to one writer for as long as it is in the pool, so only that
// writer sends to it, in the order the packets were queued. The producer never waits: a writer
// whose queue is full misses the packet (counted), as a congested path would lose it.
package fanout

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// QueueLen is how many packets a writer holds before it misses the next: two 720p keyframes.
const QueueLen = 128

// minPerWriter is how many members a writer takes before the pool starts another while the
// pool is small; from 16 members on it is √N (each sendmmsg call then carries √N datagrams).
const minPerWriter = 4

// Item is one packet as a writer gets it: a reference into the publisher's packet cache (its
// layer and sequence number) and what the reader learnt of it as it arrived.
type Item struct {
	Arrival int64  // unix ns
	Seq     uint16 // the packet's sequence number, its key in the layer's cache
	Newest  uint16 // the newest sequence number of the layer when it arrived
	Layer   int8
	Late    bool // older than the newest of its layer (a retransmission)
	barrier bool // Drain's: acknowledge, send nothing
}

// Handler sends a packet to a writer's members on the writer's goroutine. Each writer has its
// own (its scratch: the packet's copy, the sendmmsg batch).
type Handler[M any] interface {
	Handle(it Item, members []M)
}

// Pool is one published track's writers.
type Pool[M comparable] struct {
	newHandler func() Handler[M]

	mu      sync.Mutex // changes to the writers and their members
	drainMu sync.Mutex // one Drain at a time: each waits for its own barriers
	writers atomic.Pointer[[]*Writer[M]]
	count   int
	closed  bool
	wg      sync.WaitGroup

	missed atomic.Uint64
}

// New makes an empty pool; newHandler makes each writer's handler.
func New[M comparable](newHandler func() Handler[M]) *Pool[M] {
	p := &Pool[M]{newHandler: newHandler}
	p.writers.Store(&[]*Writer[M]{})
	return p
}

// Writer is one writer goroutine with its members.
type Writer[M comparable] struct {
	queue   chan Item
	done    chan struct{} // closed to stop the goroutine
	ack     chan struct{} // a barrier was reached
	members atomic.Pointer[[]M]
	n       int        // len(*members); under the pool's mu
	mu      sync.Mutex // held while a packet is sent: Lock waits for the one in hand
	h       Handler[M]
}

// Send queues a packet for every writer; a writer whose queue is full misses it. One producer
// at a time (a layer's reader, which holds its layer's lock; layers of one track may send
// concurrently: the queues take several producers).
func (p *Pool[M]) Send(it Item) {
	for _, w := range *p.writers.Load() {
		select {
		case w.queue <- it:
		default:
			p.missed.Add(1)
		}
	}
}

// Missed is how many times a writer missed a packet (its queue was full), or its handler
// counted one it could not send (MissedOne).
func (p *Pool[M]) Missed() uint64 { return p.missed.Load() }

// MissedOne counts a packet a handler could not send (gone from the cache).
func (p *Pool[M]) MissedOne() { p.missed.Add(1) }

// Len is how many members the pool has.
func (p *Pool[M]) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.count
}

// Writers is how many writer goroutines run.
func (p *Pool[M]) Writers() int { return len(*p.writers.Load()) }

// Add gives m to the writer with the fewest members if it has room (at most max(4, √N) for N
// members), else to a new writer, and returns that writer. A closed pool takes nothing (nil).
func (p *Pool[M]) Add(m M) *Writer[M] {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.count++
	limit := max(minPerWriter, isqrt(p.count))
	var w *Writer[M]
	for _, x := range *p.writers.Load() {
		if x.n < limit && (w == nil || x.n < w.n) {
			w = x
		}
	}
	if w == nil {
		w = p.startLocked()
	}
	w.n++
	next := append(append(make([]M, 0, w.n), *w.members.Load()...), m)
	w.members.Store(&next)
	return w
}

// Remove takes m from w (Add's answer); a writer left without members stops.
func (p *Pool[M]) Remove(m M, w *Writer[M]) {
	if w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	old := *w.members.Load()
	next := make([]M, 0, len(old))
	for _, x := range old {
		if x != m {
			next = append(next, x)
		}
	}
	if len(next) == len(old) {
		return
	}
	p.count--
	w.n = len(next)
	w.members.Store(&next)
	if w.n == 0 && !p.closed {
		p.stopLocked(w)
	}
}

// startLocked starts a writer; the pool's Close joins it.
func (p *Pool[M]) startLocked() *Writer[M] {
	w := &Writer[M]{queue: make(chan Item, QueueLen), done: make(chan struct{}), ack: make(chan struct{}), h: p.newHandler()}
	w.members.Store(&[]M{})
	next := append(append([]*Writer[M]{}, *p.writers.Load()...), w)
	p.writers.Store(&next)
	p.wg.Add(1)
	go w.run(&p.wg)
	return w
}

func (p *Pool[M]) stopLocked(w *Writer[M]) {
	var next []*Writer[M]
	for _, x := range *p.writers.Load() {
		if x != w {
			next = append(next, x)
		}
	}
	p.writers.Store(&next)
	close(w.done) // what is queued is nobody's now
}

// Drain returns once every writer has sent what was queued before the call (or stopped).
func (p *Pool[M]) Drain() {
	p.drainMu.Lock()
	defer p.drainMu.Unlock()
	for _, w := range *p.writers.Load() {
		select {
		case w.queue <- Item{barrier: true}: // waits only while the writer works through a full queue
		case <-w.done:
			continue
		}
		select {
		case <-w.ack:
		case <-w.done:
		}
	}
}

// Close stops every writer and waits for them; what is queued is dropped. Send may still be
// called: nothing reads the queues any more.
func (p *Pool[M]) Close() {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		for _, w := range *p.writers.Load() {
			close(w.done)
		}
		p.writers.Store(&[]*Writer[M]{})
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// Lock waits for the packet the writer is sending, if any, and keeps it from starting the
// next until Unlock: what a member sends itself (padding) then cannot overtake a packet
// numbered before it that waits in the writer's batch.
func (w *Writer[M]) Lock()   { w.mu.Lock() }
func (w *Writer[M]) Unlock() { w.mu.Unlock() }

func (w *Writer[M]) run(wg *sync.WaitGroup) {
	defer wg.Done()
	for {
		select {
		case it := <-w.queue:
			if it.barrier {
				select {
				case w.ack <- struct{}{}:
				case <-w.done:
					return
				}
				continue
			}
			w.mu.Lock()
			w.h.Handle(it, *w.members.Load())
			w.mu.Unlock()
			if len(w.queue) > 0 {
				// Take turns, a packet each, with the readers and the other tracks' writers:
				// run to the end of its queue (a keyframe to √N subscribers: milliseconds), a
				// writer would keep them waiting up to the runtime's 10 ms preemption.
				runtime.Gosched()
			}
		case <-w.done:
			return
		}
	}
}

// isqrt is ⌊√n⌋.
func isqrt(n int) int {
	r := 0
	for (r+1)*(r+1) <= n {
		r++
	}
	return r
}
