package sfu

import (
	"testing"

	"github.com/pion/webrtc/v4"
)

// TestRepairedPacketsFromRTX: of what pion unwraps from a layer's RTX stream, a resend of a
// missing packet is taken (forwarded late, as a resend on the media SSRC is), and a copy of a
// packet the layer has (Chromium pads its probes with such copies) is dropped, so subscribers
// never get a probe's bytes.
func TestRepairedPacketsFromRTX(t *testing.T) {
	r := testReceiver(vp8Codec, webrtc.RTPCodecTypeVideo, nil, 0)
	l := r.layers[0].Load()
	feed(r, marshal(1, 0, true, vp8Key), marshal(2, 3000, true, vp8Delta), marshal(4, 9000, true, vp8Delta))
	if r.repaired(l, marshal(2, 3000, true, vp8Delta)) {
		t.Error("a copy of packet 2, which the layer has, was taken")
	}
	if !r.repaired(l, marshal(3, 6000, true, vp8Delta)) {
		t.Error("the resend of missing packet 3 was dropped")
	}
	feed(r, marshal(3, 6000, true, vp8Delta)) // what readLoop does with a taken one
	if r.repaired(l, marshal(3, 6000, true, vp8Delta)) {
		t.Error("a second resend of packet 3, now cached, was taken")
	}
	s := r.Stats().Layers[0]
	if s.Repairs != 1 || s.RepairCopies != 2 {
		t.Errorf("repairs %d, copies %d: want 1 and 2", s.Repairs, s.RepairCopies)
	}
}
