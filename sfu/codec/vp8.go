package codec

// VP8Descriptor is the VP8 RTP payload descriptor (RFC 7741, section 4.2)
// parsed from the start of an RTP payload. The offsets let a forwarder
// rewrite picture ids in place when it switches simulcast layers.
type VP8Descriptor struct {
	HeaderSize       int  // bytes of payload descriptor before the VP8 bitstream
	NonReference     bool // N bit: the frame can be discarded
	StartOfPartition bool // S bit
	PartitionID      uint8

	HasPictureID    bool
	PictureID       uint16 // 7 or 15 bits
	PictureIDWide   bool   // true if the M bit (15-bit picture id) is set
	PictureIDOffset int    // byte offset of the picture id in the payload (for in-place rewriting)

	HasTL0PICIDX    bool
	TL0PICIDX       uint8
	TL0PICIDXOffset int

	HasTID    bool
	TID       uint8 // 2 bits
	LayerSync bool  // Y bit

	HasKEYIDX       bool
	KEYIDX          uint8 // 5 bits
	TIDKEYIDXOffset int   // offset of the T/K byte

	IsKeyframe bool // S=1, PartitionID=0 and the VP8 frame tag's P bit is 0
}

// Bits of the first descriptor byte: |X|R|N|S|R| PID |.
const (
	vp8X       = 0x80
	vp8N       = 0x20
	vp8S       = 0x10
	vp8PIDMask = 0x07
)

// Bits of the extension byte: |I|L|T|K| RSV |.
const (
	vp8I = 0x80
	vp8L = 0x40
	vp8T = 0x20
	vp8K = 0x10
)

const (
	vp8PictureIDWide = 0x80 // M bit of the first picture id byte
	vp8LayerSync     = 0x20 // Y bit of the T/K byte
	vp8KEYIDXMask    = 0x1f
)

// ParseVP8 parses the VP8 payload descriptor at the start of an RTP payload.
// It fails if the payload ends inside the descriptor or carries no VP8
// bitstream after it.
func ParseVP8(payload []byte) (VP8Descriptor, error) {
	var d VP8Descriptor
	if len(payload) == 0 {
		return d, ErrEmptyPayload
	}
	b := payload[0]
	d.NonReference = b&vp8N != 0
	d.StartOfPartition = b&vp8S != 0
	d.PartitionID = b & vp8PIDMask
	i := 1

	if b&vp8X != 0 {
		if i >= len(payload) {
			return VP8Descriptor{}, ErrShortVP8Descriptor
		}
		x := payload[i]
		i++
		if x&vp8I != 0 {
			if i >= len(payload) {
				return VP8Descriptor{}, ErrShortVP8Descriptor
			}
			d.HasPictureID = true
			d.PictureIDOffset = i
			if payload[i]&vp8PictureIDWide != 0 {
				if i+1 >= len(payload) {
					return VP8Descriptor{}, ErrShortVP8Descriptor
				}
				d.PictureIDWide = true
				d.PictureID = uint16(payload[i]&0x7f)<<8 | uint16(payload[i+1])
				i += 2
			} else {
				d.PictureID = uint16(payload[i])
				i++
			}
		}
		if x&vp8L != 0 {
			if i >= len(payload) {
				return VP8Descriptor{}, ErrShortVP8Descriptor
			}
			d.HasTL0PICIDX = true
			d.TL0PICIDXOffset = i
			d.TL0PICIDX = payload[i]
			i++
		}
		if x&(vp8T|vp8K) != 0 {
			if i >= len(payload) {
				return VP8Descriptor{}, ErrShortVP8Descriptor
			}
			tk := payload[i]
			d.TIDKEYIDXOffset = i
			if x&vp8T != 0 {
				d.HasTID = true
				d.TID = tk >> 6
				d.LayerSync = tk&vp8LayerSync != 0
			}
			if x&vp8K != 0 {
				d.HasKEYIDX = true
				d.KEYIDX = tk & vp8KEYIDXMask
			}
			i++
		}
	}

	if i >= len(payload) {
		return VP8Descriptor{}, ErrNoVP8Bitstream
	}
	d.HeaderSize = i
	// The frame tag (and with it the P bit) only exists at the start of
	// partition 0; the low bit is 0 for a key frame (RFC 6386, 9.1).
	d.IsKeyframe = d.StartOfPartition && d.PartitionID == 0 && payload[i]&0x01 == 0
	return d, nil
}

// IsVP8Keyframe reports whether the RTP payload starts a VP8 key frame.
func IsVP8Keyframe(payload []byte) bool {
	d, err := ParseVP8(payload)
	return err == nil && d.IsKeyframe
}

// VP8KeyframeSize returns width and height (14 bits each, scale bits
// dropped) from the first RTP payload of a VP8 keyframe (checks the 0x9d
// 0x01 0x2a start code).
func VP8KeyframeSize(payload []byte) (width, height int, ok bool) {
	d, err := ParseVP8(payload)
	if err != nil || !d.IsKeyframe {
		return 0, 0, false
	}
	return VP8FrameSize(payload[d.HeaderSize:])
}

// VP8FrameSize returns width and height from a raw VP8 key frame (as read
// from an IVF file, no payload descriptor). ok is false for inter frames,
// short input, a bad start code or a zero dimension.
func VP8FrameSize(frame []byte) (width, height int, ok bool) {
	// 3-byte frame tag, 3-byte start code, 2+2 bytes of size (RFC 6386, 9.1).
	if len(frame) < 10 || frame[0]&0x01 != 0 ||
		frame[3] != 0x9d || frame[4] != 0x01 || frame[5] != 0x2a {
		return 0, 0, false
	}
	width = int(uint16(frame[6])|uint16(frame[7])<<8) & 0x3fff
	height = int(uint16(frame[8])|uint16(frame[9])<<8) & 0x3fff
	if width == 0 || height == 0 {
		return 0, 0, false
	}
	return width, height, true
}

// RewriteVP8PictureID rewrites, in place, the picture id, TL0PICIDX and
// KEYIDX of the payload d was parsed from. Only fields present in d are
// written; the picture id keeps its original 7- or 15-bit width (the value
// is truncated to it, so ids wrap the way receivers expect) and the TID/Y
// bits sharing a byte with KEYIDX are preserved. Offsets beyond the payload
// are skipped rather than panicking, in case d belongs to another packet.
func RewriteVP8PictureID(payload []byte, d VP8Descriptor, pictureID uint16, tl0 uint8, keyIdx uint8) {
	if d.HasPictureID {
		o := d.PictureIDOffset
		if d.PictureIDWide {
			if o >= 0 && o+1 < len(payload) {
				payload[o] = vp8PictureIDWide | byte(pictureID>>8)&0x7f
				payload[o+1] = byte(pictureID)
			}
		} else if o >= 0 && o < len(payload) {
			payload[o] = byte(pictureID) & 0x7f
		}
	}
	if d.HasTL0PICIDX {
		if o := d.TL0PICIDXOffset; o >= 0 && o < len(payload) {
			payload[o] = tl0
		}
	}
	if d.HasKEYIDX {
		if o := d.TIDKEYIDXOffset; o >= 0 && o < len(payload) {
			payload[o] = payload[o]&^vp8KEYIDXMask | keyIdx&vp8KEYIDXMask
		}
	}
}
