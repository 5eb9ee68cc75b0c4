// Package rtpext reads what a socket reader needs of each datagram without parsing it whole:
// whether it is RTP or RTCP (IsRTP, IsRTCP), an RTP header extension's payload (Find), the
// packets of a compound RTCP packet (SplitRTCP) and which of them is transport-wide feedback
// (IsTWCC); and RTCP's NTP times.
package rtpext

import (
	"encoding/binary"
	"time"
)

// Find returns the payload of the header extension id (one- and two-byte forms, RFC 8285) of
// the RTP packet b, a slice of b; nil when it is not there or b is malformed.
func Find(b []byte, id uint8) []byte {
	if len(b) < 12 || b[0]&0x10 == 0 {
		return nil
	}
	off := 12 + int(b[0]&0x0f)*4
	if len(b) < off+4 {
		return nil
	}
	profile := binary.BigEndian.Uint16(b[off:])
	end := off + 4 + int(binary.BigEndian.Uint16(b[off+2:]))*4
	if end > len(b) {
		return nil
	}
	p := off + 4
	switch {
	case profile == 0xBEDE:
		for p < end {
			if b[p] == 0 { // padding
				p++
				continue
			}
			eid, l := b[p]>>4, int(b[p]&0x0f)+1
			if eid == 15 || p+1+l > end {
				return nil
			}
			if eid == id {
				return b[p+1 : p+1+l]
			}
			p += 1 + l
		}
	case profile&0xfff0 == 0x1000:
		for p < end {
			if b[p] == 0 {
				p++
				continue
			}
			if p+2 > end {
				return nil
			}
			eid, l := b[p], int(b[p+1])
			if p+2+l > end {
				return nil
			}
			if eid == id {
				return b[p+2 : p+2+l]
			}
			p += 2 + l
		}
	}
	return nil
}

// IsRTCP tells RTCP from the rest of what shares a WebRTC socket: RTP and RTCP start with
// version 2 (RFC 7983, unlike STUN and DTLS), and RTCP's packet types 192–223 sit where RTP's
// marker bit and payload type are (RFC 5761 4).
func IsRTCP(b []byte) bool {
	return len(b) >= 8 && b[0]>>6 == 2 && b[1] >= 192 && b[1] <= 223
}

// IsRTP tells RTP from the rest of what shares a WebRTC socket (see IsRTCP).
func IsRTP(b []byte) bool {
	return len(b) >= 12 && b[0]>>6 == 2 && (b[1] < 192 || b[1] > 223)
}

// SplitRTCP takes the first packet off a compound RTCP packet without parsing it. ok is false
// when what is left is not a whole packet (a malformed length ends the walk; what came before
// it counts).
func SplitRTCP(b []byte) (part, rest []byte, ok bool) {
	if len(b) < 4 {
		return nil, nil, false
	}
	size := (int(binary.BigEndian.Uint16(b[2:4])) + 1) * 4
	if size > len(b) {
		return nil, nil, false
	}
	return b[:size], b[size:], true
}

// IsTWCC tells transport-wide congestion control feedback (RTPFB 205, FMT 15) by the header of
// one packet SplitRTCP returned.
func IsTWCC(part []byte) bool {
	return len(part) >= 2 && part[1] == 205 && part[0]&0x1f == 15
}

// NTPTime is t as RTCP's 64-bit NTP timestamp.
func NTPTime(t time.Time) uint64 {
	const ntpEpochOffset = 2208988800
	secs := uint64(t.Unix()) + ntpEpochOffset
	frac := uint64(t.Nanosecond()) << 32 / uint64(time.Second)
	return secs<<32 | frac
}

// NTPCompact is the middle 32 bits of the NTP time (RFC 3550 LSR and DLSR units: 1/65536 s).
func NTPCompact(t time.Time) uint32 { return uint32(NTPTime(t) >> 16) }
