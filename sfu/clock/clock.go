// Package clock runs a group's periodic work on one timer and one goroutine.
package clock

import (
	"sync"
	"time"
)

// Clock runs the periodic work of one group on one timer and one goroutine: a room's speaker
// and allocation tick and the feedback to each of its publishers. In a small meeting the server
// sleeps between packets, and each timer of its own would wake it separately (with two CPUs,
// often both of them): one tick for the group costs one wake-up. Groups keep their own phase,
// so that on a busy server the work of many rooms does not fall on the same instant.
//
// Callbacks run in the order they were added, one after another; they must not block.
type Clock struct {
	period time.Duration
	mu     sync.Mutex
	fns    []clockFn
	nextID uint64
	closed bool
	stop   chan struct{}
	done   chan struct{}
}

type clockFn struct {
	id uint64
	fn func(now time.Time)
}

// New starts a clock that ticks every period.
func New(period time.Duration) *Clock {
	c := &Clock{period: period, stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

// Every runs fn at each tick until remove is called (after remove returns, fn may still be
// running its last tick). On a closed clock fn never runs.
func (c *Clock) Every(fn func(now time.Time)) (remove func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return func() {}
	}
	c.nextID++
	id := c.nextID
	c.fns = append(c.fns, clockFn{id: id, fn: fn})
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i, f := range c.fns {
			if f.id == id {
				c.fns = append(c.fns[:i:i], c.fns[i+1:]...) // a new array: a tick may be reading the old
				return
			}
		}
	}
}

func (c *Clock) run() {
	defer close(c.done)
	t := time.NewTicker(c.period)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case now := <-t.C:
			c.mu.Lock()
			fns := c.fns // never written in place: Every appends past its length, remove copies
			c.mu.Unlock()
			for _, f := range fns {
				f.fn(now)
			}
		}
	}
}

// Close stops the clock and waits for a tick in progress. Safe to call more than once, but not
// from a callback.
func (c *Clock) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.mu.Unlock()
	close(c.stop)
	<-c.done
}

// Len is how many callbacks are on the clock.
func (c *Clock) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.fns)
}
