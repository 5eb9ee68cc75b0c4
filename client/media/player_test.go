package media

import (
	"context"
	"io"
	"sync"
	"testing"
	"time"
)

// fakeClock jumps to each deadline at once, so pacing is checked without sleeping.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	onSleep func() // runs in the player after each sleep
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) SleepUntil(ctx context.Context, t time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.advanceTo(t)
	if c.onSleep != nil {
		c.onSleep()
	}
	return nil
}

func (c *fakeClock) advanceTo(t time.Time) {
	c.mu.Lock()
	if t.After(c.now) {
		c.now = t
	}
	c.mu.Unlock()
}

func (c *fakeClock) advance(d time.Duration) { c.advanceTo(c.Now().Add(d)) }

// listSource plays n frames of a fixed duration; frame i carries byte i.
type listSource struct {
	n, i    int
	dur     uint64
	rewinds int
}

func (s *listSource) Next() (Frame, error) {
	if s.i >= s.n {
		return Frame{}, io.EOF
	}
	f := Frame{Data: []byte{byte(s.i)}, TS: uint64(s.i) * s.dur, Dur: s.dur, Key: s.i == 0}
	s.i++
	return f, nil
}

func (s *listSource) Rewind() error { s.i = 0; s.rewinds++; return nil }

type written struct {
	index int
	ts    uint64
	at    time.Time
}

// runPlayer plays until stop returns true for what has been written.
func runPlayer(t *testing.T, p *Player, clk *fakeClock, stop func([]written) bool, onWrite func(int)) []written {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out []written
	p.write = func(f Frame, ts uint64) error {
		out = append(out, written{index: int(f.Data[0]), ts: ts, at: clk.Now()})
		if onWrite != nil {
			onWrite(len(out))
		}
		if stop(out) {
			cancel()
		}
		return nil
	}
	if err := p.Run(ctx, clk.Now()); err != nil {
		t.Fatal(err)
	}
	return out
}

func upTo(n int) func([]written) bool { return func(w []written) bool { return len(w) >= n } }

// Frames go out at start + media time even when every write is slow: no drift accumulates.
func TestPlayerPacesWithoutDrift(t *testing.T) {
	clk := newFakeClock()
	start := clk.Now()
	src := &listSource{n: 1000, dur: 3000} // 30 fps at 90 kHz
	p := &Player{src: src, clk: clk, rate: 90000}
	out := runPlayer(t, p, clk, upTo(300), func(int) { clk.advance(25 * time.Millisecond) })
	for i, w := range out {
		want := start.Add(time.Duration(i) * time.Second / 30)
		if !w.at.Equal(want) {
			t.Fatalf("frame %d written at %v, want %v", i, w.at.Sub(start), want.Sub(start))
		}
		if w.ts != uint64(i)*3000 {
			t.Fatalf("frame %d ts %d", i, w.ts)
		}
	}
}

// A write stalled past maxLateness moves the schedule rather than bursting the backlog.
func TestPlayerRebasesAfterStall(t *testing.T) {
	clk := newFakeClock()
	start := clk.Now()
	p := &Player{src: &listSource{n: 100, dur: 3000}, clk: clk, rate: 90000}
	out := runPlayer(t, p, clk, upTo(20), func(n int) {
		if n == 10 {
			clk.advance(5 * time.Second)
		}
	})
	// Frame 10 is due at 333 ms but found the clock at 5.3 s: it and the rest follow 1/30 s apart.
	late := out[10].at.Sub(start)
	if late < 5*time.Second {
		t.Fatalf("frame 10 at %v", late)
	}
	for i := 11; i < len(out); i++ {
		if gap := out[i].at.Sub(out[i-1].at); gap != time.Second/30 && gap != time.Second/30+1 {
			t.Fatalf("gap before frame %d: %v", i, gap)
		}
	}
}

// At the end the file loops; media time keeps rising by exactly one frame.
func TestPlayerLoops(t *testing.T) {
	clk := newFakeClock()
	src := &listSource{n: 5, dur: 960}
	p := &Player{src: src, clk: clk, rate: 48000, loop: true}
	out := runPlayer(t, p, clk, upTo(12), nil)
	for i, w := range out {
		if w.index != i%5 || w.ts != uint64(i)*960 {
			t.Fatalf("write %d: frame %d ts %d", i, w.index, w.ts)
		}
	}

	// Without Loop, the player stops at the end.
	src = &listSource{n: 3, dur: 960}
	p = &Player{src: src, clk: clk, rate: 48000}
	if out := runPlayer(t, p, clk, upTo(100), nil); len(out) != 3 {
		t.Errorf("played %d frames once", len(out))
	}
	// An empty file is an error, not a spin.
	p = &Player{src: &listSource{}, clk: clk, rate: 48000, loop: true}
	if err := p.Run(context.Background(), clk.Now()); err != ErrEmptySource {
		t.Errorf("empty source: %v", err)
	}
}

// A keyframe request restarts at frame 0 (a keyframe) without a jump back in media time, and
// requests closer than restartInterval are ignored.
func TestPlayerRestartOnKeyframeRequest(t *testing.T) {
	clk := newFakeClock()
	src := &listSource{n: 100, dur: 3000}
	p := &Player{src: src, clk: clk, rate: 90000, loop: true}
	var accepted []bool
	out := runPlayer(t, p, clk, upTo(40), func(n int) {
		switch n {
		case 10, 12: // 66 ms apart: the second is throttled
			accepted = append(accepted, p.RequestRestart(false))
		case 30: // 600 ms after the first
			accepted = append(accepted, p.RequestRestart(false))
		}
	})
	if len(accepted) != 3 || !accepted[0] || accepted[1] || !accepted[2] {
		t.Fatalf("accepted %v", accepted)
	}
	if out[10].index != 0 || out[11].index != 1 || out[30].index != 0 {
		t.Errorf("after restarts: frames %d, %d, %d", out[10].index, out[11].index, out[30].index)
	}
	for i := 1; i < len(out); i++ {
		if out[i].ts != out[i-1].ts+3000 {
			t.Fatalf("ts jumps at write %d: %d after %d", i, out[i].ts, out[i-1].ts)
		}
	}
	if p.Restarts() != 2 {
		t.Errorf("restarts %d", p.Restarts())
	}
}

// A paused player keeps time but writes nothing; resuming starts at a keyframe.
func TestPlayerPauseResumesAtKeyframe(t *testing.T) {
	clk := newFakeClock()
	p := &Player{src: &listSource{n: 100, dur: 3000}, clk: clk, rate: 90000, loop: true}
	p.SetPaused(false) // resuming what was not paused restarts nothing
	sleeps := 0
	clk.onSleep = func() {
		if p.paused.Load() {
			if sleeps++; sleeps == 10 {
				p.SetPaused(false)
			}
		}
	}
	out := runPlayer(t, p, clk, upTo(8), func(n int) {
		if n == 5 {
			p.SetPaused(true)
		}
	})
	if out[5].index != 0 || out[6].index != 1 {
		t.Errorf("after resume: frames %d, %d", out[5].index, out[6].index)
	}
	// Frames 5..13 were skipped while paused; time went on.
	if gap := out[5].ts - out[4].ts; gap != 10*3000 {
		t.Errorf("media time across the pause %d", gap)
	}
	if p.Restarts() != 0 {
		t.Errorf("a resume counted as a keyframe restart")
	}
}
