package media

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// restartInterval throttles keyframe-driven restarts: a burst of PLIs restarts once.
	restartInterval = 500 * time.Millisecond
	// maxLateness is how far behind schedule the player may fall (a stalled machine, a blocked
	// write) before it moves its schedule instead of bursting out the backlog.
	maxLateness = time.Second
)

// Player paces one source in real time: frame n goes out at start + its media time, computed
// from the file's timestamps, so per-write delays never accumulate into drift.
type Player struct {
	src   Source
	clk   Clock
	rate  uint32 // clock rate of frame timestamps
	loop  bool
	write func(f Frame, ts uint64) error // ts: media time since the player started

	restart  atomic.Bool   // rewind before the next frame
	paused   atomic.Bool   // keep time but write nothing (muted, or a layer nobody needs)
	restarts atomic.Uint64 // taken keyframe requests (forced restarts not counted)

	mu          sync.Mutex
	lastRestart time.Time
}

// NewPlayer plays src at rate (the clock rate of its timestamps), again and again if loop,
// writing each frame with its media time since the start.
func NewPlayer(src Source, clk Clock, rate uint32, loop bool, write func(f Frame, ts uint64) error) *Player {
	return &Player{src: src, clk: clk, rate: rate, loop: loop, write: write}
}

// RequestRestart asks for the file to start again at its first frame. Unless forced, it is
// throttled to one per restartInterval; it reports whether the request was taken.
func (p *Player) RequestRestart(force bool) bool {
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

// SetPaused pauses or resumes writing; a resumed stream starts at a keyframe.
func (p *Player) SetPaused(paused bool) {
	if p.paused.Swap(paused) && !paused {
		p.RequestRestart(true)
	}
}

// Run plays until ctx ends, the write fails for good, or a non-looping file ends.
func (p *Player) Run(ctx context.Context, start time.Time) error {
	var base, end uint64 // media time of this pass's start, and of the end of the last frame
	frames := 0          // frames read in this pass
	for {
		if p.restart.Swap(false) {
			if err := p.src.Rewind(); err != nil {
				return err
			}
			base, frames = end, 0
		}
		f, err := p.src.Next()
		if errors.Is(err, io.EOF) {
			if frames == 0 {
				return ErrEmptySource
			}
			if !p.loop {
				return nil
			}
			if err := p.src.Rewind(); err != nil {
				return err
			}
			base, frames = end, 0
			continue
		}
		if err != nil {
			return err
		}
		frames++
		ts := base + f.TS
		end = max(end, ts+f.Dur)
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

// Paused reports whether the player writes nothing (SetPaused).
func (p *Player) Paused() bool { return p.paused.Load() }

// Restarts counts the keyframe requests that restarted the file (forced restarts not counted).
func (p *Player) Restarts() uint64 { return p.restarts.Load() }

// mediaDuration converts clock units to a duration without overflowing for long runs.
func mediaDuration(ts uint64, rate uint32) time.Duration {
	r := uint64(rate)
	return time.Duration(ts/r)*time.Second + time.Duration(ts%r)*time.Second/time.Duration(r)
}
