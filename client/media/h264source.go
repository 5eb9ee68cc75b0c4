package client

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/pion/webrtc/v4/pkg/media/h264reader"
)

// h264Source reads access units from an Annex-B H.264 stream held in memory, at a fixed rate.
type h264Source struct {
	data []byte
	fps  uint64

	r       *h264reader.H264Reader
	pending *h264reader.NAL // first NAL of the next access unit, read ahead
	index   uint64          // access units returned in this pass
}

func newH264Source(data []byte, fps int) (*h264Source, error) {
	if fps <= 0 || fps > 1000 {
		return nil, fmt.Errorf("client: h264: bad frame rate %d", fps)
	}
	s := &h264Source{data: data, fps: uint64(fps)}
	return s, s.rewind()
}

func (s *h264Source) rewind() error {
	r, err := h264reader.NewReader(bytes.NewReader(s.data))
	if err != nil {
		return fmt.Errorf("client: h264: %w", err)
	}
	s.r, s.pending, s.index = r, nil, 0
	return nil
}

func (s *h264Source) nextNAL() (*h264reader.NAL, error) {
	if n := s.pending; n != nil {
		s.pending = nil
		return n, nil
	}
	return s.r.NextNAL()
}

// next gathers NAL units up to the start of the next access unit: a non-VCL unit (SPS, PPS,
// AUD…) after a slice, or a slice whose first_mb_in_slice is 0.
func (s *h264Source) next() (frame, error) {
	var au []byte
	slice, key := false, false
	for {
		nal, err := s.nextNAL()
		if errors.Is(err, io.EOF) {
			if !slice {
				return frame{}, io.EOF // trailing parameter sets without a picture
			}
			break
		}
		if err != nil {
			return frame{}, fmt.Errorf("client: h264: %w", err)
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
	return frame{data: au, ts: ts, dur: 90000 / s.fps, key: key}, nil
}

// firstMBZero reports whether a slice starts a picture: first_mb_in_slice, the first ue(v) of
// the slice header, is 0 exactly when the bit after the NAL header byte is 1.
func firstMBZero(nal []byte) bool { return len(nal) < 2 || nal[1]&0x80 != 0 }
