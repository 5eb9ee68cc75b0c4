package media

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/pion/webrtc/v4/pkg/media/h264reader"
)

// H264Source reads access units from an Annex-B H.264 stream held in memory, at a fixed rate.
type H264Source struct {
	data []byte
	fps  uint64

	r       *h264reader.H264Reader
	pending *h264reader.NAL // first NAL of the next access unit, read ahead
	index   uint64          // access units returned in this pass
}

// NewH264Source reads annexB at fps frames a second.
func NewH264Source(data []byte, fps int) (*H264Source, error) {
	if fps <= 0 || fps > 1000 {
		return nil, fmt.Errorf("media: h264: bad frame rate %d", fps)
	}
	s := &H264Source{data: data, fps: uint64(fps)}
	return s, s.Rewind()
}

// Rewind starts again at the first access unit.
func (s *H264Source) Rewind() error {
	r, err := h264reader.NewReader(bytes.NewReader(s.data))
	if err != nil {
		return fmt.Errorf("media: h264: %w", err)
	}
	s.r, s.pending, s.index = r, nil, 0
	return nil
}

func (s *H264Source) nextNAL() (*h264reader.NAL, error) {
	if n := s.pending; n != nil {
		s.pending = nil
		return n, nil
	}
	return s.r.NextNAL()
}

// Next gathers NAL units up to the start of the next access unit: a non-VCL unit (SPS, PPS,
// AUD…) after a slice, or a slice whose first_mb_in_slice is 0.
func (s *H264Source) Next() (Frame, error) {
	var au []byte
	slice, key := false, false
	for {
		nal, err := s.nextNAL()
		if errors.Is(err, io.EOF) {
			if !slice {
				return Frame{}, io.EOF // trailing parameter sets without a picture
			}
			break
		}
		if err != nil {
			return Frame{}, fmt.Errorf("media: h264: %w", err)
		}
		if len(nal.Data) == 0 {
			continue
		}
		vcl := nal.UnitType >= 1 && nal.UnitType <= 5
		// Data partitions B and C (3, 4) carry no slice header and never start a picture.
		startsPicture := vcl && nal.UnitType != 3 && nal.UnitType != 4 && firstMBZero(nal.Data)
		if slice && (!vcl || startsPicture) {
			s.pending = nal
			break
		}
		au = append(au, 0, 0, 0, 1)
		au = append(au, nal.Data...)
		slice = slice || vcl
		key = key || nal.UnitType == h264reader.NalUnitTypeCodedSliceIdr
	}
	ts := s.index * 90000 / s.fps // from the index, so rounding never accumulates
	s.index++
	return Frame{Data: au, TS: ts, Dur: 90000 / s.fps, Key: key}, nil
}

// firstMBZero reports whether a slice starts a picture: first_mb_in_slice, the first ue(v) of
// the slice header, is 0 exactly when the bit after the NAL header byte is 1.
func firstMBZero(nal []byte) bool { return len(nal) < 2 || nal[1]&0x80 != 0 }
