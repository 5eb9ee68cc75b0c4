package sfu

import (
	"testing"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// TestRetransmitBudgetBoundsTheConnection: two down tracks of one connection share a budget;
// a NACK of every packet on both resends what the budget's burst allows in all, where each
// track's own bound alone would resend twice that. Without a rate the budget bounds nothing.
func TestRetransmitBudgetBoundsTheConnection(t *testing.T) {
	resent := func(budget *RetransmitBudget) uint64 {
		r := testReceiver(vp8Codec, webrtc.RTPCodecTypeVideo, nil, 0)
		var total uint64
		var tracks []*DownTrack
		var writers []*captureWriter
		for i := range 2 {
			w := &captureWriter{}
			d := NewDownTrack(r, DownTrackParams{TrackID: "TR_x", StreamID: "PA_x", RetransmitBudget: budget})
			codecs := []webrtc.RTPCodecParameters{opusCodec, vp8Codec}
			if _, err := d.Bind(fakeContext{codecs: codecs, ssrc: webrtc.SSRC(10 + i), w: w}); err != nil {
				t.Fatal(err)
			}
			r.AddDownTrack(d)
			tracks, writers = append(tracks, d), append(writers, w)
		}
		pkts := [][]byte{marshal(1000, 9000, true, vp8Key)}
		for i := uint16(1); i < 30; i++ {
			pkts = append(pkts, marshal(1000+i, 9000+uint32(i)*3000, true, vp8Delta))
		}
		feed(r, pkts...)
		for i, d := range tracks {
			var seqs []uint16
			for _, p := range writers[i].got() {
				seqs = append(seqs, p.SequenceNumber)
			}
			if len(seqs) != 30 {
				t.Fatalf("track %d forwarded %d packets, want 30", i, len(seqs))
			}
			d.HandleRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{MediaSSRC: uint32(10 + i), Nacks: rtcp.NackPairsFromSequenceNumbers(seqs)}})
			total += d.Stats().Retransmits
		}
		return total
	}
	alone := resent(nil)
	if alone != 2*rtxBurst {
		t.Fatalf("without a budget the two tracks resent %d, want each its own burst (%d)", alone, 2*rtxBurst)
	}
	b := &RetransmitBudget{}
	if got := resent(b); got != alone {
		t.Errorf("a budget without a rate resent %d, want %d", got, alone)
	}
	b = &RetransmitBudget{}
	b.SetRate(40_000) // a quarter second of it is less than rtxBurst packets: the burst is rtxBurst
	if got := resent(b); got != rtxBurst {
		t.Errorf("with a shared budget the two tracks resent %d, want %d in all", got, rtxBurst)
	}
}

// TestRetransmitBudgetRefills: the budget refills at its rate, up to its burst.
func TestRetransmitBudgetRefills(t *testing.T) {
	b := &RetransmitBudget{}
	b.SetRate(96_000) // ten 1,200-byte packets a second; the burst is rtxBurst packets
	const bits = 9600
	now := int64(1e9)
	n := 0
	for b.take(bits, now) {
		n++
	}
	if n != rtxBurst {
		t.Fatalf("burst of %d packets, want %d", n, rtxBurst)
	}
	now += 1e8 // 100 ms: one packet's worth
	if !b.take(bits, now) || b.take(bits, now) {
		t.Error("after 100 ms the budget should allow exactly one more packet")
	}
	now += 10e9 // long idle: back to the burst, not beyond
	n = 0
	for b.take(bits, now) {
		n++
	}
	if n != rtxBurst {
		t.Errorf("after idling, a burst of %d packets, want %d", n, rtxBurst)
	}
	b.SetRate(0)
	for range 100 {
		if !b.take(bits, now) {
			t.Fatal("an unbounded budget refused a resend")
		}
	}
}
