package client

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/pion/webrtc/v4/pkg/media/oggreader"
)

// oggSource reads Opus packets from an Ogg file held in memory. It expects one packet per page
// (ffmpeg's -page_duration 20000), and times each packet by the pages' granule positions.
type oggSource struct {
	data []byte

	r    *oggreader.OggReader
	prev uint64 // granule position of the previous page: where this packet starts
}

func newOggSource(data []byte) (*oggSource, error) {
	s := &oggSource{data: data}
	return s, s.rewind()
}

func (s *oggSource) rewind() error {
	r, _, err := oggreader.NewWith(bytes.NewReader(s.data))
	if err != nil {
		return fmt.Errorf("client: ogg: %w", err)
	}
	s.r, s.prev = r, 0
	return nil
}

func (s *oggSource) next() (frame, error) {
	for {
		payload, hdr, err := s.r.ParseNextPage()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return frame{}, io.EOF
		}
		if err != nil {
			return frame{}, fmt.Errorf("client: ogg: %w", err)
		}
		if _, isHeader := hdr.HeaderType(payload); isHeader || len(payload) == 0 {
			continue // OpusTags, or a page that only continues a header
		}
		dur := uint64(960) // 20 ms, should the granule not move
		if hdr.GranulePosition > s.prev {
			dur = hdr.GranulePosition - s.prev
		}
		ts := s.prev
		s.prev += dur
		return frame{data: payload, ts: ts, dur: dur, key: true}, nil
	}
}
