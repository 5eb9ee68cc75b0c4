package media

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
)

// IVFSource reads VP8 frames from an IVF file held in memory, timed by the file's timebase.
type IVFSource struct {
	data          []byte
	num, den      uint64 // timebase: a pts unit is num/den seconds
	width, height int

	r      *ivfreader.IVFReader
	lastTS uint64 // 90 kHz time of the previous frame in this pass
	step   uint64 // 90 kHz gap between the last two frames: the duration of the last one
}

// NewIVFSource reads an IVF file of VP8.
func NewIVFSource(data []byte) (*IVFSource, error) {
	_, hdr, err := ivfreader.NewWith(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("media: ivf: %w", err)
	}
	if hdr.FourCC != "VP80" {
		return nil, fmt.Errorf("%w: ivf carries %q, only VP8 is supported", ErrUnsupportedCodec, hdr.FourCC)
	}
	s := &IVFSource{
		data: data, num: uint64(hdr.TimebaseNumerator), den: uint64(hdr.TimebaseDenominator),
		width: int(hdr.Width), height: int(hdr.Height),
	}
	return s, s.Rewind()
}

// Size is the picture size the file header gives.
func (s *IVFSource) Size() (width, height int) { return s.width, s.height }

// Rewind starts again at the first frame.
func (s *IVFSource) Rewind() error {
	r, _, err := ivfreader.NewWith(bytes.NewReader(s.data))
	if err != nil {
		return fmt.Errorf("media: ivf: %w", err)
	}
	s.r, s.lastTS = r, 0
	s.step = max(1, 90000*s.num/s.den) // one timebase tick until two frames give a real gap
	return nil
}

// Next returns the next frame, timed by the file's timebase.
func (s *IVFSource) Next() (Frame, error) {
	payload, hdr, err := s.r.ParseNextFrame()
	if errors.Is(err, io.EOF) {
		return Frame{}, io.EOF
	}
	if err != nil {
		return Frame{}, fmt.Errorf("media: ivf: %w", err)
	}
	// ivfreader reports pts*den/num; undo that (rounding) to get the pts back.
	pts := (hdr.Timestamp*s.num + s.den/2) / s.den
	ts := pts * 90000 * s.num / s.den
	if ts > s.lastTS {
		s.step = ts - s.lastTS
	}
	s.lastTS = ts
	return Frame{Data: payload, TS: ts, Dur: s.step, Key: vp8Keyframe(payload)}, nil
}

// vp8Keyframe reports whether a VP8 frame is a keyframe: bit 0 of its first byte is 0.
func vp8Keyframe(b []byte) bool { return len(b) > 0 && b[0]&1 == 0 }
