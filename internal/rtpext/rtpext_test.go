package rtpext

import (
	"slices"
	"testing"

	"github.com/pion/rtp"
)

// TestRTPExtension: the extension finder agrees with pion's parser for both forms.
func TestRTPExtension(t *testing.T) {
	for _, twoByte := range []bool{false, true} {
		h := rtp.Header{Version: 2, SSRC: 1, CSRC: []uint32{9}}
		if twoByte {
			h.Extension, h.ExtensionProfile = true, 0x1000
		}
		_ = h.SetExtension(1, []byte{0xaa})
		_ = h.SetExtension(5, []byte{0x01, 0x02})
		b, err := (&rtp.Packet{Header: h, Payload: []byte{7}}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if got := Find(b, 5); !slices.Equal(got, []byte{1, 2}) {
			t.Errorf("two-byte %v: extension 5 is %x", twoByte, got)
		}
		if got := Find(b, 1); !slices.Equal(got, []byte{0xaa}) {
			t.Errorf("two-byte %v: extension 1 is %x", twoByte, got)
		}
		if got := Find(b, 2); got != nil {
			t.Errorf("two-byte %v: extension 2 is %x, want none", twoByte, got)
		}
	}
}

// TestDemux: RTP and RTCP are told apart, and from STUN and DTLS sharing the socket (RFC 7983,
// RFC 5761).
func TestDemux(t *testing.T) {
	rtpPkt, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: 1}}).Marshal()
	marked, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, Marker: true, SSRC: 1}}).Marshal()
	for _, c := range []struct {
		name      string
		b         []byte
		rtp, rtcp bool
	}{
		{"rtp", rtpPkt, true, false},
		{"rtp with marker", marked, true, false},
		{"rtcp sender report", []byte{0x80, 200, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0}, false, true},
		{"rtcp transport feedback", []byte{0x8f, 205, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2}, false, true},
		{"stun", []byte{0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8}, false, false},
		{"dtls", []byte{22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0}, false, false},
		{"short rtp", rtpPkt[:11], false, false},
		{"short rtcp", []byte{0x80, 200, 0}, false, false},
	} {
		if got := IsRTP(c.b); got != c.rtp {
			t.Errorf("%s: IsRTP = %v, want %v", c.name, got, c.rtp)
		}
		if got := IsRTCP(c.b); got != c.rtcp {
			t.Errorf("%s: IsRTCP = %v, want %v", c.name, got, c.rtcp)
		}
	}
}
