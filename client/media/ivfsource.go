package media

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
)

// IVFSource reads VP8 frames from an IVF file held in memory, timed by the file's timebase.
//
// A file whose header names a known scalability mode in its 4 unused bytes (offset 28) gets
// each frame's temporal layer in Frame.Temporal. The only mode known is "L1T3", the W3C
// webrtc-svc name of three temporal layers, here in libvpx's pattern 0, 2, 1, 2 (the layer
// order Chrome's VP8 sends too), which starts again at every keyframe: TL0 frames reference
// TL0 frames only, TL1 frames the TL0 before them, the first TL2 frame of a period the TL0
// before it and the second the TL1 before it. testmedia's VP8 fixtures are such files (see
// testmedia/generate.sh); a file that names no mode gets no temporal layers.
type IVFSource struct {
	data          []byte
	num, den      uint64 // timebase: a pts unit is num/den seconds
	width, height int
	mode          string     // scalability mode from the header, "" if none known
	pattern       []Temporal // the frames of one period of mode's pattern; nil without one

	r      *ivfreader.IVFReader
	lastTS uint64 // 90 kHz time of the previous frame in this pass
	step   uint64 // 90 kHz gap between the last two frames: the duration of the last one
	pos    int    // position in pattern of the next frame
}

// ScalabilityModeL1T3 is the one scalability mode IVFSource knows: one spatial layer, three
// temporal layers.
const ScalabilityModeL1T3 = "L1T3"

// temporalPatterns are the scalability modes IVFSource knows, each a period of frames
// starting at a keyframe or a TL0 frame.
var temporalPatterns = map[string][]Temporal{
	ScalabilityModeL1T3: {
		{Valid: true, TID: 0},
		{Valid: true, TID: 2, LayerSync: true},
		{Valid: true, TID: 1, LayerSync: true},
		{Valid: true, TID: 2},
	},
}

// ivfModeOffset is where an IVF header has 4 unused bytes, which may name a scalability mode.
const ivfModeOffset = 28

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
	// ivfreader checked that the 32-byte header is there.
	if mode := string(data[ivfModeOffset : ivfModeOffset+4]); temporalPatterns[mode] != nil {
		s.mode, s.pattern = mode, temporalPatterns[mode]
	}
	return s, s.Rewind()
}

// Size is the picture size the file header gives.
func (s *IVFSource) Size() (width, height int) { return s.width, s.height }

// ScalabilityMode is the scalability mode the file header names ("L1T3"), or "" if it names
// none that IVFSource knows; only then do frames carry their temporal layer.
func (s *IVFSource) ScalabilityMode() string { return s.mode }

// Rewind starts again at the first frame.
func (s *IVFSource) Rewind() error {
	r, _, err := ivfreader.NewWith(bytes.NewReader(s.data))
	if err != nil {
		return fmt.Errorf("media: ivf: %w", err)
	}
	s.r, s.lastTS, s.pos = r, 0, 0
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
	f := Frame{Data: payload, TS: ts, Dur: s.step, Key: vp8Keyframe(payload)}
	if s.pattern != nil {
		if f.Key {
			s.pos = 0 // a keyframe starts the pattern again
		}
		f.Temporal = s.pattern[s.pos]
		s.pos = (s.pos + 1) % len(s.pattern)
	}
	return f, nil
}

// vp8Keyframe reports whether a VP8 frame is a keyframe: bit 0 of its first byte is 0.
func vp8Keyframe(b []byte) bool { return len(b) > 0 && b[0]&1 == 0 }
