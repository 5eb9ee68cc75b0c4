package fanout

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// recorder is a handler that notes, per member, the sequence numbers it was sent, and can be
// held at the start of a packet.
type recorder struct {
	mu   *sync.Mutex
	got  map[int][]uint16
	gate chan struct{} // nil: never held; else each packet waits for a value
}

func (r *recorder) Handle(it Item, members []int) {
	if r.gate != nil {
		<-r.gate
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range members {
		r.got[m] = append(r.got[m], it.Seq)
	}
}

func newRecorded(gate chan struct{}) (*Pool[int], *recorder) {
	rec := &recorder{mu: &sync.Mutex{}, got: map[int][]uint16{}, gate: gate}
	return New(func() Handler[int] { return rec }), rec
}

// TestEveryMemberGetsEveryPacketInOrder: with members spread over several writers, each gets
// every packet sent, in the order sent, once: one writer per member, FIFO queues.
func TestEveryMemberGetsEveryPacketInOrder(t *testing.T) {
	p, rec := newRecorded(nil)
	defer p.Close()
	writerOf := map[int]*Writer[int]{}
	for m := range 50 {
		writerOf[m] = p.Add(m)
	}
	for seq := range uint16(100) {
		p.Send(Item{Seq: seq})
		if seq%10 == 0 {
			p.Drain() // each queue holds QueueLen: nothing is missed
		}
	}
	p.Drain()
	want := make([]uint16, 100)
	for i := range want {
		want[i] = uint16(i)
	}
	for m := range 50 {
		if !slices.Equal(rec.got[m], want) {
			t.Fatalf("member %d got %v, want 0..99 once each in order", m, rec.got[m])
		}
	}
	if p.Missed() != 0 {
		t.Errorf("%d missed, want none", p.Missed())
	}
}

// TestWritersAreAboutSqrtN: up to 16 members a writer takes 4, beyond that about √N; a member
// stays with its writer; a writer left empty stops.
func TestWritersAreAboutSqrtN(t *testing.T) {
	for _, c := range []struct{ members, writers int }{{1, 1}, {4, 1}, {5, 2}, {16, 4}, {100, 10}, {400, 20}} {
		p, _ := newRecorded(nil)
		ws := map[*Writer[int]]int{}
		for m := range c.members {
			ws[p.Add(m)]++
		}
		// Writers made while the pool was small keep what they have: a few more than √N.
		if got := p.Writers(); got < c.writers || got > c.writers+c.writers/4+1 || got != len(ws) {
			t.Errorf("%d members: %d writers (%d seen), want about %d", c.members, got, len(ws), c.writers)
		}
		for w, n := range ws {
			if n > max(4, isqrt(c.members)) {
				t.Errorf("%d members: a writer has %d", c.members, n)
			}
			_ = w
		}
		p.Close()
	}
	p, _ := newRecorded(nil)
	defer p.Close()
	w0, w1 := p.Add(0), p.Add(1)
	if w0 != w1 {
		t.Fatal("two members of a small pool on two writers")
	}
	p.Remove(0, w0)
	if p.Writers() != 1 || p.Len() != 1 {
		t.Fatalf("%d writers, %d members after one left: want 1 and 1", p.Writers(), p.Len())
	}
	p.Remove(1, w1)
	if p.Writers() != 0 || p.Len() != 0 {
		t.Fatalf("%d writers, %d members after all left: want none", p.Writers(), p.Len())
	}
	p.Send(Item{Seq: 1}) // nobody: nothing to do
}

// TestAFullQueueMissesInsteadOfWaiting: a writer stuck on a packet makes the producer count a
// miss for each packet its full queue cannot take; the producer never waits. Once it moves
// again, what its queue took arrives in order.
func TestAFullQueueMissesInsteadOfWaiting(t *testing.T) {
	gate := make(chan struct{})
	p, rec := newRecorded(gate)
	defer p.Close()
	p.Add(7)
	const extra = 10
	for seq := range uint16(QueueLen + 1 + extra) { // one in hand, QueueLen queued
		p.Send(Item{Seq: seq})
	}
	if got := p.Missed(); got < extra || got > extra+1 {
		t.Fatalf("%d missed, want %d (or one more, if the writer had not yet taken the first)", got, extra)
	}
	go func() {
		for range QueueLen + 1 {
			gate <- struct{}{}
		}
	}()
	p.Drain()
	got := rec.got[7]
	if len(got)+int(p.Missed()) != QueueLen+1+extra || !slices.IsSorted(got) || got[0] != 0 {
		t.Fatalf("got %d packets in order %v, %d missed: want every packet either sent in order or missed", len(got), slices.IsSorted(got), p.Missed())
	}
}

// TestLockHoldsTheWriterBetweenPackets: while a member holds its writer, the writer starts no
// packet; what was queued goes out after Unlock.
func TestLockHoldsTheWriterBetweenPackets(t *testing.T) {
	p, rec := newRecorded(nil)
	defer p.Close()
	w := p.Add(1)
	w.Lock()
	p.Send(Item{Seq: 5})
	done := make(chan struct{})
	go func() { p.Drain(); close(done) }()
	select {
	case <-done:
		t.Fatal("the writer sent a packet while held")
	case <-time.After(50 * time.Millisecond): // a held writer never finishes; 50 ms shows it did not at once
	}
	rec.mu.Lock()
	n := len(rec.got[1])
	rec.mu.Unlock()
	if n != 0 {
		t.Fatal("the writer sent a packet while held")
	}
	w.Unlock()
	<-done
	if !slices.Equal(rec.got[1], []uint16{5}) {
		t.Fatalf("after Unlock got %v, want [5]", rec.got[1])
	}
}

// TestCloseStopsEveryWriter: Close returns once every writer goroutine has ended, even with a
// packet queued; sending and adding after it do nothing.
func TestCloseStopsEveryWriter(t *testing.T) {
	p, _ := newRecorded(nil)
	for m := range 40 {
		p.Add(m)
	}
	p.Send(Item{Seq: 1})
	p.Close() // waits for the goroutines: the test would hang otherwise
	p.Send(Item{Seq: 2})
	if p.Add(99) != nil || p.Writers() != 0 {
		t.Fatal("a closed pool took a member or kept writers")
	}
	p.Drain()
}
