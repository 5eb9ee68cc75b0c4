package sfu

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// feed pushes marshalled packets of layer 0 through the receiver's hot path.
func feed(r *Receiver, pkts ...[]byte) { feedLayer(r, 0, pkts...) }

// feedLayer pushes marshalled packets of one layer through the receiver's hot path.
func feedLayer(r *Receiver, layer int, pkts ...[]byte) {
	var p Packet
	l := r.layers[layer].Load()
	for _, b := range pkts {
		buf := append([]byte(nil), b...)
		r.forward(l, buf, &p)
	}
}

func TestDownTrackStartsAtKeyframeAndRewrites(t *testing.T) {
	pli := &plis{}
	r := testReceiver(vp8Codec, webrtc.RTPCodecTypeVideo, pli, 0)
	w := &captureWriter{}
	d := boundDownTrack(r, 5555, w)
	pliAfterBind := pli.count()
	if pliAfterBind == 0 {
		t.Fatal("binding a video down track did not ask the publisher for a keyframe")
	}
	feed(r,
		marshal(100, 9000, true, vp8Delta), // before any keyframe: dropped, PLI
		marshal(101, 12000, false, vp8Key),
		marshal(102, 12000, true, vp8Cont),
		marshal(100, 9000, true, vp8Delta),  // late duplicate from before the start: dropped
		marshal(104, 15000, true, vp8Delta), // 103 lost upstream: the gap stays
		marshal(103, 15000, false, vp8Delta),
	)
	got := w.got()
	if len(got) != 4 {
		t.Fatalf("forwarded %d packets, want 4", len(got))
	}
	if pli.count() <= pliAfterBind {
		t.Error("no keyframe request while waiting for a keyframe")
	}
	base := got[0].SequenceNumber
	wantSeq := []uint16{base, base + 1, base + 3, base + 2}
	tsBase := got[0].Timestamp
	wantTS := []uint32{tsBase, tsBase, tsBase + 3000, tsBase + 3000}
	for i, p := range got {
		if p.SSRC != 5555 || p.PayloadType != 100 {
			t.Errorf("packet %d: ssrc %d pt %d, want the subscriber's 5555/100", i, p.SSRC, p.PayloadType)
		}
		if p.SequenceNumber != wantSeq[i] || p.Timestamp != wantTS[i] {
			t.Errorf("packet %d: seq %d ts %d, want %d %d", i, p.SequenceNumber, p.Timestamp, wantSeq[i], wantTS[i])
		}
	}
	if got[1].Marker != true || got[0].Marker != false {
		t.Error("marker bits not preserved")
	}
	_ = d
}

func TestDownTrackSequenceWraparound(t *testing.T) {
	r := testReceiver(vp8Codec, webrtc.RTPCodecTypeVideo, nil, 0)
	w := &captureWriter{}
	boundDownTrack(r, 1, w)
	feed(r, marshal(65534, 4294967000, false, vp8Key), marshal(65535, 4294967000, true, vp8Cont),
		marshal(0, 200, true, vp8Delta), marshal(1, 3200, true, vp8Delta))
	got := w.got()
	if len(got) != 4 {
		t.Fatalf("forwarded %d packets across the wrap, want 4", len(got))
	}
	for i := 1; i < len(got); i++ {
		if got[i].SequenceNumber != got[i-1].SequenceNumber+1 {
			t.Errorf("seq %d -> %d is not continuous", got[i-1].SequenceNumber, got[i].SequenceNumber)
		}
	}
	if d := got[2].Timestamp - got[1].Timestamp; d != 496 {
		t.Errorf("timestamp step across 2^32 = %d, want 496", d)
	}
}

func TestNACKAnsweredFromCacheInSubscriberNumbering(t *testing.T) {
	r := testReceiver(vp8Codec, webrtc.RTPCodecTypeVideo, nil, 0)
	w1, w2 := &captureWriter{}, &captureWriter{}
	d1 := boundDownTrack(r, 11, w1)
	boundDownTrack(r, 22, w2)
	feed(r, marshal(500, 1000, false, vp8Key), marshal(501, 1000, true, vp8Cont), marshal(502, 4000, true, vp8Delta))
	sent := w1.got()
	lost := sent[1] // pretend the subscriber lost the second packet
	d1.HandleRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{MediaSSRC: 11, Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{lost.SequenceNumber})}})
	got := w1.got()
	if len(got) != 4 {
		t.Fatalf("subscriber 1 got %d packets, want 3 + 1 retransmission", len(got))
	}
	rtx := got[3]
	if rtx.SequenceNumber != lost.SequenceNumber || rtx.Timestamp != lost.Timestamp || rtx.SSRC != 11 ||
		string(rtx.Payload) != string(lost.Payload) {
		t.Fatalf("retransmission %v, want a copy of %v", rtx.Header, lost.Header)
	}
	if len(w2.got()) != 3 {
		t.Fatal("another subscriber's NACK leaked into subscriber 2")
	}
	if s := d1.Stats(); s.NACKs != 1 || s.Retransmits != 1 {
		t.Fatalf("stats %+v", s)
	}
	// A NACK for a packet never sent is ignored.
	d1.HandleRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{lost.SequenceNumber + 100})}})
	if len(w1.got()) != 4 {
		t.Fatal("retransmitted a packet that was never sent")
	}
}

func TestAudioLevelRewrittenToSubscriberExtensionID(t *testing.T) {
	r := testReceiver(opusCodec, webrtc.RTPCodecTypeAudio, nil, 1)
	w := &captureWriter{}
	boundDownTrack(r, 9, w, webrtc.RTPHeaderExtensionParameter{URI: AudioLevelURI, ID: 7})
	// The publisher sends level 30 at id 1 and something unknown at id 3.
	feed(r, marshal(1, 960, false, []byte{0xFC, 0x01}, [2]byte{1, 0x80 | 30}, [2]byte{3, 0x55}))
	got := w.got()
	if len(got) != 1 {
		t.Fatalf("audio forwarded %d packets (audio starts at once), want 1", len(got))
	}
	if ext := got[0].GetExtension(7); len(ext) != 1 || ext[0] != 30 {
		t.Fatalf("audio level at subscriber id 7 = %v, want [30]", ext)
	}
	if got[0].GetExtension(3) != nil || got[0].GetExtension(1) != nil {
		t.Fatal("publisher's extension ids leaked to the subscriber")
	}
	if s := r.Stats(); s.AudioLevel != 30 || len(s.Layers) != 1 || s.Layers[0].Packets != 1 {
		t.Fatalf("receiver level %d, want 30", s.AudioLevel)
	}
	feed(r, marshal(2, 1920, false, []byte{0xFC, 0x01}, [2]byte{1, 0x80 | 50}))
	if l, n := r.TakeLevels(); n != 2 || l != (97+77)/2.0 {
		t.Fatalf("TakeLevels = %v over %d packets, want 87 over 2", l, n)
	}
	if _, n := r.TakeLevels(); n != 0 {
		t.Fatal("TakeLevels did not reset")
	}
}

func TestRemovedDownTrackGetsNothing(t *testing.T) {
	r := testReceiver(opusCodec, webrtc.RTPCodecTypeAudio, nil, 0)
	w := &captureWriter{}
	d := boundDownTrack(r, 9, w)
	r.RemoveDownTrack(d)
	feed(r, marshal(1, 960, false, []byte{1}))
	if len(w.got()) != 0 || r.DownTrackCount() != 0 {
		t.Fatal("a removed down track still receives")
	}
}

// BenchmarkForward measures the hot path for one packet: parse, cache, and rewrite + write to N
// down tracks (the writer is a counter, so this is Podium's cost without SRTP and sendto).
func BenchmarkForward(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("downtracks=%d", n), func(b *testing.B) {
			r := testReceiver(vp8Codec, webrtc.RTPCodecTypeVideo, nil, 0)
			w := &captureWriter{discard: true}
			for i := 0; i < n; i++ {
				boundDownTrack(r, webrtc.SSRC(i+1), w)
			}
			feed(r, marshal(0, 0, false, vp8Key))
			benchForward(b, r, 0, marshal(1, 3000, true, deltaPayload()), n)
		})
	}
}

// deltaPayload is a full-size VP8 delta frame packet payload.
func deltaPayload() []byte {
	payload := make([]byte, 1100)
	copy(payload, vp8Delta)
	return payload
}

// benchForward forwards pkt (renumbered each time) on a layer of r to its n down tracks b.N
// times and reports the time per down track.
func benchForward(b *testing.B, r *Receiver, layer int, pkt []byte, n int) {
	buf := make([]byte, len(pkt))
	first := uint16(pkt[2])<<8 | uint16(pkt[3])
	var p Packet
	l := r.layers[layer].Load()
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		copy(buf, pkt)
		seq := first + uint16(i)
		buf[2], buf[3] = byte(seq>>8), byte(seq)
		r.forward(l, buf, &p)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/downtrack")
}

func TestForwardDoesNotAllocate(t *testing.T) {
	r := testReceiver(vp8Codec, webrtc.RTPCodecTypeVideo, nil, 0)
	w := &captureWriter{discard: true}
	for i := 0; i < 10; i++ {
		boundDownTrack(r, webrtc.SSRC(i+1), w)
	}
	if allocs := forwardAllocs(r); allocs != 0 {
		t.Fatalf("forwarding one packet to 10 down tracks allocates %.1f times", allocs)
	}
}

// forwardAllocs starts layer 0's down tracks at a keyframe, forwards one delta packet (the
// first makes what is made once, such as SRTP contexts) and returns the allocations of each
// packet after it.
func forwardAllocs(r *Receiver) float64 {
	feed(r, marshal(0, 0, false, vp8Key))
	pkt := marshal(1, 3000, true, vp8Delta)
	var p Packet
	l := r.layers[0].Load()
	r.forward(l, pkt, &p)
	seq := uint16(1)
	return testing.AllocsPerRun(500, func() {
		seq++
		pkt[2], pkt[3] = byte(seq>>8), byte(seq)
		r.forward(l, pkt, &p)
	})
}

// TestLateKeyframeStartCatchesUp: a subscriber waiting for a keyframe whose first packet was
// lost upstream drops the rest of the keyframe as it passes; when the first packet comes late
// (resent after the server's NACK), the down track starts there and sends the rest from the
// cache, so the subscriber gets the whole keyframe in one contiguous run.
func TestLateKeyframeStartCatchesUp(t *testing.T) {
	r := testReceiver(vp8Codec, webrtc.RTPCodecTypeVideo, nil, 0)
	w := &captureWriter{}
	boundDownTrack(r, 77, w)
	feed(r, marshal(101, 9000, false, vp8Cont), marshal(102, 9000, false, vp8Cont), marshal(103, 9000, true, vp8Cont))
	if got := w.got(); len(got) != 0 {
		t.Fatalf("%d packets sent before the keyframe", len(got))
	}
	feed(r, marshal(100, 9000, false, vp8Key)) // the keyframe's start, resent
	feed(r, marshal(104, 12000, true, vp8Delta))
	got := w.got()
	if len(got) != 5 {
		t.Fatalf("sent %d packets, want the keyframe's 4 and the next frame", len(got))
	}
	if !bytes.Equal(got[0].Payload, vp8Key) {
		t.Errorf("first sent %x, want the keyframe's start", got[0].Payload)
	}
	for i := 1; i < len(got); i++ {
		if got[i].SequenceNumber != got[0].SequenceNumber+uint16(i) {
			t.Fatalf("sequence %d at %d after %d: want contiguous", got[i].SequenceNumber, i, got[0].SequenceNumber)
		}
	}
	if got[3].Timestamp != got[0].Timestamp || !got[3].Marker || got[4].Timestamp == got[0].Timestamp {
		t.Errorf("timestamps %d..%d (marker %v): the keyframe's packets share one, the next frame another",
			got[0].Timestamp, got[4].Timestamp, got[3].Marker)
	}
}

// TestCodecTheSubscriberRefusedIsNotSent: a subscriber that cannot decode a track's codec
// (Firefox without H.264) answers without it. Bind must not fail: pion would fail the whole
// answer, and the subscriber would get no track at all. The down track sends nothing instead.
func TestCodecTheSubscriberRefusedIsNotSent(t *testing.T) {
	r := testReceiver(vp8Codec, webrtc.RTPCodecTypeVideo, nil, 0)
	d := NewDownTrack(r, DownTrackParams{TrackID: "TR_x", StreamID: "PA_x"})
	w := &captureWriter{}
	if _, err := d.Bind(fakeContext{codecs: []webrtc.RTPCodecParameters{opusCodec}, ssrc: 9, w: w}); err != nil {
		t.Fatalf("Bind without the track's codec: %v (pion would refuse the whole answer)", err)
	}
	if !d.Unsupported() {
		t.Fatal("the down track does not say its codec was refused")
	}
	r.AddDownTrack(d)
	feed(r, marshal(10, 1000, false, vp8Key))
	feed(r, marshal(11, 1000, true, vp8Cont))
	if got := w.got(); len(got) != 0 {
		t.Fatalf("%d packets written for a codec the subscriber refused", len(got))
	}
}
