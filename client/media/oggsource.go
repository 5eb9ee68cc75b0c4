package media

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/pion/webrtc/v4/pkg/media/oggreader"
)

// OggSource reads Opus packets from an Ogg file held in memory. It expects one packet per page
// (ffmpeg's -page_duration 20000), and times each packet by the pages' granule positions.
type OggSource struct {
	data []byte

	r    *oggreader.OggReader
	prev uint64 // granule position of the previous page: where this packet starts
}

// NewOggSource reads an Ogg file of Opus.
func NewOggSource(data []byte) (*OggSource, error) {
	s := &OggSource{data: data}
	return s, s.Rewind()
}

// Rewind starts again at the first packet.
func (s *OggSource) Rewind() error {
	r, _, err := oggreader.NewWith(bytes.NewReader(s.data))
	if err != nil {
		return fmt.Errorf("media: ogg: %w", err)
	}
	s.r, s.prev = r, 0
	return nil
}

// Next returns the next Opus packet, timed by the granule positions.
func (s *OggSource) Next() (Frame, error) {
	for {
		payload, hdr, err := s.r.ParseNextPage()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return Frame{}, io.EOF
		}
		if err != nil {
			return Frame{}, fmt.Errorf("media: ogg: %w", err)
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
		return Frame{Data: payload, TS: ts, Dur: dur, Key: true}, nil
	}
}
