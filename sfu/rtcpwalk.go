package sfu

import (
	"encoding/binary"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
)

// splitRTCP takes the first packet off a compound RTCP packet without parsing it. ok is false
// when what is left is not a whole packet (a malformed length ends the walk; what came before
// it counts).
func splitRTCP(b []byte) (part, rest []byte, ok bool) {
	if len(b) < 4 {
		return nil, nil, false
	}
	size := (int(binary.BigEndian.Uint16(b[2:4])) + 1) * 4
	if size > len(b) {
		return nil, nil, false
	}
	return b[:size], b[size:], true
}

// isTWCC tells transport-wide congestion control feedback (RTPFB, FMT 15) by its header.
func isTWCC(part []byte) bool {
	return part[1] == byte(rtcp.TypeTransportSpecificFeedback) && part[0]&0x1f == rtcp.FormatTCC
}

// extensionID is the id a stream negotiated for a header extension, 0 when none.
func extensionID(info *interceptor.StreamInfo, uri string) uint8 {
	for _, x := range info.RTPHeaderExtensions {
		if x.URI == uri {
			return uint8(x.ID)
		}
	}
	return 0
}
