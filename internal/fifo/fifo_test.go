package fifo

import (
	"errors"
	"runtime"
	"slices"
	"sync"
	"testing"
)

func TestBoundByCount(t *testing.T) {
	q := New[int](3)
	for i := range 3 {
		if err := q.Push(i); err != nil {
			t.Fatalf("push %d: %v", i, err)
		}
	}
	if err := q.Push(3); !errors.Is(err, ErrFull) {
		t.Fatalf("push over the bound: %v, want ErrFull", err)
	}
	if v, _ := q.Next(); v != 0 {
		t.Fatalf("next %d, want 0", v)
	}
	if err := q.Push(3); err != nil {
		t.Fatalf("push after a pop made room: %v", err)
	}
	got, _ := q.Take(nil)
	if want := []int{1, 2, 3}; !slices.Equal(got, want) {
		t.Fatalf("take %v, want %v", got, want)
	}
}

func TestBoundBySize(t *testing.T) {
	q := NewSized(100, 10, func(b []byte) int { return len(b) })
	if err := q.Push(make([]byte, 11)); !errors.Is(err, ErrFull) {
		t.Fatalf("item over the size bound: %v, want ErrFull", err)
	}
	if err := q.Push(make([]byte, 6)); err != nil {
		t.Fatal(err)
	}
	if err := q.Push(make([]byte, 5)); !errors.Is(err, ErrFull) {
		t.Fatalf("6+5 > 10 accepted: %v", err)
	}
	if err := q.Push(make([]byte, 4)); err != nil {
		t.Fatalf("6+4 = 10 refused: %v", err)
	}
	if q.Size() != 10 {
		t.Fatalf("size %d, want 10", q.Size())
	}
	q.Next() // the 6 leaves: its size is given back
	if err := q.Push(make([]byte, 6)); err != nil {
		t.Fatalf("4+6 after a pop refused: %v", err)
	}
	q.Take(nil) // everything leaves
	if q.Size() != 0 {
		t.Fatalf("size %d after take, want 0", q.Size())
	}
	if err := q.Push(make([]byte, 10)); err != nil {
		t.Fatalf("10 into an emptied queue refused: %v", err)
	}
}

// TestOrderAcrossWrap pushes and pops in steps that make the ring wrap and grow while items
// wait, which is where a ring loses order if its copy is wrong.
func TestOrderAcrossWrap(t *testing.T) {
	q := New[int](1000)
	next, want := 0, 0
	for round := range 50 {
		for range round%7 + 3 {
			if err := q.Push(next); err != nil {
				t.Fatal(err)
			}
			next++
		}
		for range round%5 + 1 {
			if q.Len() == 0 {
				break
			}
			v, _ := q.Next()
			if v != want {
				t.Fatalf("round %d: next %d, want %d", round, v, want)
			}
			want++
		}
	}
	rest, _ := q.Take(nil)
	for _, v := range rest {
		if v != want {
			t.Fatalf("take: %d, want %d", v, want)
		}
		want++
	}
	if want != next {
		t.Fatalf("got %d items, pushed %d", want, next)
	}
}

func TestCloseHandsOutWhatWaits(t *testing.T) {
	q := New[int](10)
	q.Push(1)
	q.Push(2)
	if !q.Close() {
		t.Fatal("first Close reported the queue already closed")
	}
	if q.Close() {
		t.Fatal("second Close reported it closed the queue")
	}
	if err := q.Push(3); !errors.Is(err, ErrClosed) {
		t.Fatalf("push after close: %v, want ErrClosed", err)
	}
	for _, want := range []int{1, 2} {
		if v, ok := q.Next(); !ok || v != want {
			t.Fatalf("next = %d, %v; want %d, true", v, ok, want)
		}
	}
	if _, ok := q.Next(); ok {
		t.Fatal("next on a closed, empty queue reported an item")
	}
	if batch, closed := q.Take(nil); len(batch) != 0 || !closed {
		t.Fatalf("take = %v, %v; want nothing, closed", batch, closed)
	}
}

func TestDiscardDropsWhatWaits(t *testing.T) {
	q := NewSized(10, 100, func(int) int { return 1 })
	q.Push(1)
	if !q.Discard() {
		t.Fatal("Discard of an open queue reported it already closed")
	}
	if q.Discard() || q.Close() {
		t.Fatal("a second Discard or Close reported it closed the queue")
	}
	if _, ok := q.Next(); ok {
		t.Fatal("a discarded item came out")
	}
	if err := q.Push(2); !errors.Is(err, ErrClosed) {
		t.Fatalf("push after discard: %v", err)
	}
}

// TestNextWaitsForPushAndClose: a consumer blocked in Next is woken by a push and by Close.
func TestNextWaitsForPushAndClose(t *testing.T) {
	q := New[string](4)
	got := make(chan string)
	go func() {
		for {
			v, ok := q.Next()
			if !ok {
				close(got)
				return
			}
			got <- v
		}
	}()
	q.Push("a")
	if v := <-got; v != "a" {
		t.Fatalf("got %q", v)
	}
	q.Close()
	if _, ok := <-got; ok {
		t.Fatal("consumer got an item after close")
	}
}

// TestConcurrentProducers: under -race, many producers and one consumer lose nothing, keep each
// producer's order, and never see more than the bound waiting.
func TestConcurrentProducers(t *testing.T) {
	const producers, each, bound = 8, 1000, 64
	q := New[[2]int](bound)
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for i := 0; i < each; {
				switch err := q.Push([2]int{p, i}); {
				case err == nil:
					i++
				case errors.Is(err, ErrFull):
					// The consumer is behind: a real producer would refuse; here, try again.
					runtime.Gosched()
				default:
					t.Errorf("push: %v", err)
					return
				}
			}
		})
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		q.Close()
		close(done)
	}()
	last := make([]int, producers)
	for i := range last {
		last[i] = -1
	}
	total := 0
	var batch [][2]int
	for {
		var closed bool
		batch, closed = q.Take(batch[:0])
		if len(batch) > bound {
			t.Fatalf("took %d items from a queue bounded at %d", len(batch), bound)
		}
		for _, v := range batch {
			if v[1] != last[v[0]]+1 {
				t.Fatalf("producer %d: %d after %d", v[0], v[1], last[v[0]])
			}
			last[v[0]] = v[1]
		}
		total += len(batch)
		if len(batch) > 0 {
			continue
		}
		if closed {
			break
		}
		<-q.Wake()
	}
	<-done
	if total != producers*each {
		t.Fatalf("consumed %d, want %d", total, producers*each)
	}
}

// BenchmarkPushNext is the steady state of one producer and one consumer: no allocation.
func BenchmarkPushNext(b *testing.B) {
	q := New[int](1024)
	b.ReportAllocs()
	for i := range b.N {
		q.Push(i)
		q.Next()
	}
}

// BenchmarkPushTake is a writer's pattern: a burst, then one batch.
func BenchmarkPushTake(b *testing.B) {
	q := NewSized(1024, 1<<20, func(p []byte) int { return len(p) })
	item := make([]byte, 100)
	var batch [][]byte
	b.ReportAllocs()
	for range b.N {
		for range 16 {
			q.Push(item)
		}
		batch, _ = q.Take(batch[:0])
	}
}
