package client

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// frame is one encoded frame (or Opus packet) read from a file.
type frame struct {
	data []byte
	ts   uint64 // media time from the start of the current pass through the file, in clock units
	dur  uint64 // its duration in clock units: where a following pass starts after a loop or restart
	key  bool
}

// source yields the frames of one encoded file in order. It returns io.EOF at the end of the
// file; rewind starts again at the first frame, which is a keyframe.
type source interface {
	next() (frame, error)
	rewind() error
}

// clock is the player's time base, injected so that tests pace without sleeping.
type clock interface {
	Now() time.Time
	// SleepUntil returns at t, or early with ctx's error.
	SleepUntil(ctx context.Context, t time.Time) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) SleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t) // monotonic: t comes from time.Now().Add
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

const (
	// restartInterval throttles keyframe-driven restarts: a burst of PLIs restarts once.
	restartInterval = 500 * time.Millisecond
	// maxLateness is how far behind schedule the player may fall (a stalled machine, a blocked
	// write) before it moves its schedule instead of bursting out the backlog.
	maxLateness = time.Second
)

// errEmptySource stops a player whose file yields no frame at all, instead of spinning.
var errEmptySource = errors.New("client: media file has no frames")

// player paces one source in real time: frame n goes out at start + its media time, computed
// from the file's timestamps, so per-write delays never accumulate into drift.
type player struct {
	src   source
	clk   clock
	rate  uint32 // clock rate of frame timestamps
	loop  bool
	write func(f frame, ts uint64) error // ts: media time since the player started

	restart  atomic.Bool   // rewind before the next frame
	paused   atomic.Bool   // keep time but write nothing (muted, or a layer nobody needs)
	restarts atomic.Uint64 // taken keyframe requests (forced restarts not counted)

	mu          sync.Mutex
	lastRestart time.Time
}

// requestRestart asks for the file to start again at its first frame. Unless forced, it is
// throttled to one per restartInterval; it reports whether the request was taken.
func (p *player) requestRestart(force bool) bool {
	if !force {
		// Only requests count against the throttle: the keyframe of a forced restart (at
		// connection) may be the one that was lost, and the request is how we learn it.
		now := p.clk.Now()
		p.mu.Lock()
		if !p.lastRestart.IsZero() && now.Sub(p.lastRestart) < restartInterval {
			p.mu.Unlock()
			return false
		}
		p.lastRestart = now
		p.mu.Unlock()
		p.restarts.Add(1)
	}
	p.restart.Store(true)
	return true
}

// setPaused pauses or resumes writing; a resumed stream starts at a keyframe.
func (p *player) setPaused(paused bool) {
	if p.paused.Swap(paused) && !paused {
		p.requestRestart(true)
	}
}

// run plays until ctx ends, the write fails for good, or a non-looping file ends.
func (p *player) run(ctx context.Context, start time.Time) error {
	var base, end uint64 // media time of this pass's start, and of the end of the last frame
	frames := 0          // frames read in this pass
	for {
		if p.restart.Swap(false) {
			if err := p.src.rewind(); err != nil {
				return err
			}
			base, frames = end, 0
		}
		f, err := p.src.next()
		if errors.Is(err, io.EOF) {
			if frames == 0 {
				return errEmptySource
			}
			if !p.loop {
				return nil
			}
			if err := p.src.rewind(); err != nil {
				return err
			}
			base, frames = end, 0
			continue
		}
		if err != nil {
			return err
		}
		frames++
		ts := base + f.ts
		end = max(end, ts+f.dur)
		due := start.Add(mediaDuration(ts, p.rate))
		if err := p.clk.SleepUntil(ctx, due); err != nil {
			return nil
		}
		if late := p.clk.Now().Sub(due); late > maxLateness {
			start = start.Add(late)
		}
		if p.restart.Load() {
			end = ts // a restart came while waiting: the first frame takes this one's slot
			continue
		}
		if p.paused.Load() {
			continue
		}
		if err := p.write(f, ts); errors.Is(err, io.ErrClosedPipe) {
			return nil
		}
	}
}

// mediaDuration converts clock units to a duration without overflowing for long runs.
func mediaDuration(ts uint64, rate uint32) time.Duration {
	r := uint64(rate)
	return time.Duration(ts/r)*time.Second + time.Duration(ts%r)*time.Second/time.Duration(r)
}
