package codec

// H.264 NAL unit types (RFC 6184, section 5.2, and H.264 table 7-1).
const (
	h264NALIDR   = 5
	h264NALSPS   = 7
	h264NALSTAPA = 24
	h264NALFUA   = 28

	h264NALTypeMask = 0x1f
	h264FUStart     = 0x80 // S bit of the FU header
)

// IsH264Keyframe reports whether the RTP payload (RFC 6184) starts an IDR
// picture or carries an SPS: a single NAL unit of type 5 or 7, a STAP-A
// aggregating one, or the first fragment (S bit set) of an FU-A of one.
// A truncated STAP-A is scanned up to the first aggregation unit that does
// not fit.
func IsH264Keyframe(payload []byte) bool {
	if len(payload) == 0 {
		return false
	}
	switch t := payload[0] & h264NALTypeMask; t {
	case h264NALIDR, h264NALSPS:
		return true
	case h264NALSTAPA:
		// Aggregation units: 16-bit big-endian size, then the NAL unit.
		for i := 1; i+2 < len(payload); {
			size := int(payload[i])<<8 | int(payload[i+1])
			i += 2
			if size == 0 || i+size > len(payload) {
				return false
			}
			if nt := payload[i] & h264NALTypeMask; nt == h264NALIDR || nt == h264NALSPS {
				return true
			}
			i += size
		}
		return false
	case h264NALFUA:
		if len(payload) < 2 {
			return false
		}
		fu := payload[1]
		nt := fu & h264NALTypeMask
		return fu&h264FUStart != 0 && (nt == h264NALIDR || nt == h264NALSPS)
	default:
		return false
	}
}
