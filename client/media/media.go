// Package media reads encoded media files (VP8 in IVF, H.264 Annex-B, Opus in Ogg) held in
// memory and plays them in real time, for the Go SDK's publishers. It knows nothing of WebRTC.
package media

import (
	"context"
	"errors"
	"time"
)

var (
	// ErrUnsupportedCodec is a file or track of a codec the SDK does not send.
	ErrUnsupportedCodec = errors.New("client: unsupported codec")
	// ErrEmptySource stops a player whose file yields no frame at all, instead of spinning.
	ErrEmptySource = errors.New("media: the file has no frames")
)

// Frame is one encoded frame (or Opus packet) read from a file.
type Frame struct {
	Data []byte
	TS   uint64 // media time from the start of the current pass through the file, in clock units
	Dur  uint64 // its duration in clock units: where a following pass starts after a loop or restart
	Key  bool

	// Temporal is the frame's temporal layer, when the file says how its frames are layered
	// (IVFSource: ScalabilityMode); the zero value when it does not.
	Temporal Temporal
}

// Temporal places a frame in a stream of temporal layers, as the VP8 RTP payload descriptor
// carries it (RFC 7741, section 4.2: TID and Y). A frame of layer TID references only frames of
// layers up to TID, so a receiver may leave out every frame above a layer.
type Temporal struct {
	Valid bool  // the source knows the frame's layer; false: nothing else here is meaningful
	TID   uint8 // temporal layer, 0 the base layer (TL0)
	// LayerSync is the Y bit: the frame references only TL0 frames since the last TL0 frame, so
	// a receiver that forwarded fewer layers may start forwarding layer TID here.
	LayerSync bool
}

// Source yields the frames of one encoded file in order. Next returns io.EOF at the end of the
// file; Rewind starts again at the first frame, which is a keyframe.
type Source interface {
	Next() (Frame, error)
	Rewind() error
}

// Clock is the player's time base, injected so that tests pace without sleeping.
type Clock interface {
	Now() time.Time
	// SleepUntil returns at t, or early with ctx's error.
	SleepUntil(ctx context.Context, t time.Time) error
}

// RealClock is the wall clock.
type RealClock struct{}

// Now is time.Now.
func (RealClock) Now() time.Time { return time.Now() }

// SleepUntil sleeps until t or until ctx ends.
func (RealClock) SleepUntil(ctx context.Context, t time.Time) error {
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
