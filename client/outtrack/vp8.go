package outtrack

import (
	"github.com/pion/rtp"

	"github.com/podium-sfu/podium/client/media"
)

// VP8 payload descriptor bits (RFC 7741, section 4.2).
const (
	vp8X         = 0x80 // first byte: extension byte follows
	vp8S         = 0x10 // first byte: start of a partition (PID 0: of the frame)
	vp8I         = 0x80 // extension byte: picture id follows
	vp8L         = 0x40 // extension byte: TL0PICIDX follows
	vp8T         = 0x20 // extension byte: TID/Y/KEYIDX byte follows
	vp8M         = 0x80 // picture id: 15-bit
	vp8Y         = 0x20 // TID/Y/KEYIDX byte: layer sync
	vp8BaseSize  = 4    // descriptor with the 15-bit picture id
	vp8LayerSize = 6    // and TL0PICIDX and TID/Y/KEYIDX
)

// vp8Payloader writes the payload descriptor libwebrtc writes: always X and a 15-bit picture
// id, one more per frame (so that the descriptor's size never changes and an SFU can rewrite
// the id in place), and, for a frame whose temporal layer is known, TL0PICIDX, TID and Y as
// well (KEYIDX never). The S bit and PID 0 go on a frame's first packet; every packet of a
// frame carries the same descriptor otherwise.
type vp8Payloader struct {
	pictureID uint16
	tl0PicIdx uint8          // TL0PICIDX of the last TL0 frame
	temporal  media.Temporal // of the frame Payload is given next; reset by Payload
}

var _ rtp.Payloader = (*vp8Payloader)(nil)

// setTemporal gives the temporal layer of the frame that the next Payload call packetizes.
func (p *vp8Payloader) setTemporal(t media.Temporal) { p.temporal = t }

// Payload splits one VP8 frame into RTP payloads of at most mtu bytes, each the descriptor
// and a piece of the frame, all in one allocation.
func (p *vp8Payloader) Payload(mtu uint16, frame []byte) [][]byte {
	tl := p.temporal
	p.temporal = media.Temporal{}
	hdr := vp8BaseSize
	if tl.Valid {
		hdr = vp8LayerSize
	}
	chunk := int(mtu) - hdr
	if chunk <= 0 || len(frame) == 0 {
		return nil
	}
	if tl.Valid && tl.TID == 0 {
		p.tl0PicIdx++ // RFC 7741: incremented on each TL0 frame, which carries the new value
	}
	var desc [vp8LayerSize]byte
	desc[0] = vp8X
	desc[1] = vp8I
	desc[2] = vp8M | byte(p.pictureID>>8)&0x7f
	desc[3] = byte(p.pictureID)
	if tl.Valid {
		desc[1] |= vp8L | vp8T
		desc[4] = p.tl0PicIdx
		desc[5] = tl.TID << 6 // KEYIDX 0, not written (K=0)
		if tl.LayerSync {
			desc[5] |= vp8Y
		}
	}
	p.pictureID = (p.pictureID + 1) & 0x7fff

	n := (len(frame) + chunk - 1) / chunk
	buf := make([]byte, n*hdr+len(frame))
	out := make([][]byte, 0, n)
	for off := 0; off < len(frame); off += chunk {
		size := min(chunk, len(frame)-off)
		pkt := buf[: hdr+size : hdr+size]
		buf = buf[hdr+size:]
		copy(pkt, desc[:hdr])
		if off == 0 {
			pkt[0] |= vp8S
		}
		copy(pkt[hdr:], frame[off:off+size])
		out = append(out, pkt)
	}
	return out
}
