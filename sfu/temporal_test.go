package sfu

import (
	"fmt"
	"slices"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// vp8T is a VP8 payload whose descriptor marks a temporal layer, as Chrome writes it: picture
// id, TL0PICIDX, TID with the layer sync bit, KEYIDX.
func vp8T(key, start bool, pid uint16, tl0, tid uint8, sync bool) []byte {
	b := vp8(key, start, pid, tl0, 0)
	b[1] |= 0x20 // T
	b[5] = tid << 6
	if sync {
		b[5] |= 0x20
	}
	return b
}

// temporalStream is frames of the 0,2,1,2 pattern libvpx and Chrome use for three temporal
// layers, two packets each, from frame from (frame 0 a keyframe), 30 a second.
func temporalStream(from, n int) [][]byte {
	var out [][]byte
	for i := from; i < from+n; i++ {
		pos := i % 4
		tid := [...]uint8{0, 2, 1, 2}[pos]
		sync := pos == 1 || pos == 2 // references only the TL0 frame before it
		tl0 := uint8(i/4 + 1)
		pid, ts := uint16(300+i), uint32(3000*i)
		seq := uint16(5000 + 2*i)
		out = append(out,
			marshal(seq, ts, false, vp8T(i == 0, true, pid, tl0, tid, sync)),
			marshal(seq+1, ts, true, vp8T(false, false, pid, tl0, tid, sync)))
	}
	return out
}

// framesOf lists the source frames (by picture id) the subscriber got, and checks that what it
// got is continuous: sequence numbers and picture ids without a gap, TL0PICIDX never skipping.
func framesOf(t *testing.T, got []rtp.Packet) []int {
	t.Helper()
	checkContinuous(t, got)
	var frames []int
	for i, p := range got {
		d := parseVP8(t, p.Payload)
		if i > 0 {
			prev := parseVP8(t, got[i-1].Payload)
			if d.TL0PICIDX != prev.TL0PICIDX && d.TL0PICIDX != prev.TL0PICIDX+1 {
				t.Errorf("packet %d: TL0PICIDX %d after %d", i, d.TL0PICIDX, prev.TL0PICIDX)
			}
		}
		if d.StartOfPartition {
			frames = append(frames, int(p.Timestamp-got[0].Timestamp)/3000)
		}
	}
	return frames
}

func temporalDownTrack(t *testing.T) (*Receiver, *DownTrack, *captureWriter) {
	return temporalTrackOf(t, &plis{}, 0)
}

// temporalTrackOf is a down track bound to a capture writer, on layer 0 of a VP8 receiver of
// the given layers, whose keyframe requests go to pli.
func temporalTrackOf(t *testing.T, pli *plis, layers ...int) (*Receiver, *DownTrack, *captureWriter) {
	r := testReceiver(vp8Codec, webrtc.RTPCodecTypeVideo, pli, 0, layers...)
	w := &captureWriter{}
	d := NewDownTrack(r, DownTrackParams{})
	if _, err := d.Bind(fakeContext{codecs: []webrtc.RTPCodecParameters{vp8Codec}, ssrc: 7, w: w}); err != nil {
		t.Fatal(err)
	}
	r.AddDownTrack(d)
	d.SetTargetLayer(0)
	return r, d, w
}

// TestTemporalTargetThinsTheFrameRate: a down track asked for temporal layer 0 or 1 forwards
// only those frames (a quarter, a half), as one continuous stream; asked for all, every frame.
func TestTemporalTargetThinsTheFrameRate(t *testing.T) {
	for _, tc := range []struct {
		target int
		want   []int
	}{
		{0, []int{0, 4, 8}},
		{1, []int{0, 2, 4, 6, 8, 10}},
		{AllTemporal, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
	} {
		r, d, w := temporalDownTrack(t)
		d.SetTargetTemporal(tc.target)
		feed(r, temporalStream(0, 12)...)
		if got := framesOf(t, w.got()); !slices.Equal(got, tc.want) {
			t.Errorf("temporal target %d: frames %v, want %v", tc.target, got, tc.want)
		}
		if drops := d.Stats().TemporalDrops; drops != uint64(2*(12-len(tc.want))) {
			t.Errorf("temporal target %d: %d packets left out, want %d", tc.target, drops, 2*(12-len(tc.want)))
		}
	}
}

// TestTemporalSwitches: going down takes effect at the next frame; going up waits for a frame
// that only references the base layer (the layer sync bit), as a frame of the new layer before
// it references frames the subscriber never got.
func TestTemporalSwitches(t *testing.T) {
	r, d, w := temporalDownTrack(t)
	d.SetTargetTemporal(0)
	feed(r, temporalStream(0, 6)...) // frames 0 and 4
	d.SetTargetTemporal(AllTemporal)
	// Frame 6 (TID 1) references only frame 4: layer 1 from there. Frame 7 (TID 2) references
	// frame 6 as well, no sync: left out. Frame 9 (TID 2) is a sync: from there on, everything.
	feed(r, temporalStream(6, 6)...)
	d.SetTargetTemporal(1)
	feed(r, temporalStream(12, 4)...) // 13 and 15 (TID 2) left out
	want := []int{0, 4, 6, 8, 9, 10, 11, 12, 14}
	if got := framesOf(t, w.got()); !slices.Equal(got, want) {
		t.Errorf("frames %v, want %v", got, want)
	}
	if d.CurrentTemporal() != 1 {
		t.Errorf("forwarding temporal layer %d, want 1", d.CurrentTemporal())
	}
}

// TestTemporalLateRetransmission: a publisher's retransmission of a forwarded frame's packet,
// coming after frames were left out, takes the number it would have had; one of a left-out
// frame stays out.
func TestTemporalLateRetransmission(t *testing.T) {
	r, d, w := temporalDownTrack(t)
	d.SetTargetTemporal(0)
	s := temporalStream(0, 6)
	lost := s[1] // frame 0's second packet
	feed(r, append(s[:1:1], s[2:]...)...)
	feed(r, lost, s[3]) // then a late packet of frame 1 (TID 2, left out)
	got := w.got()
	if len(got) != 4 {
		t.Fatalf("sent %d packets, want 4 (frames 0 and 4, two each)", len(got))
	}
	if got[3].SequenceNumber != got[0].SequenceNumber+1 {
		t.Errorf("the retransmission went out as %d, want %d", got[3].SequenceNumber, got[0].SequenceNumber+1)
	}
	if got[1].SequenceNumber != got[0].SequenceNumber+2 {
		t.Errorf("frame 4 went out as %d, want %d", got[1].SequenceNumber, got[0].SequenceNumber+2)
	}
}

// temporalPacket writes frame i of the 0,2,1,2 pattern (one packet, a delta frame) into buf,
// a packet made by marshal from vp8T: sequence number, timestamp, picture id, TL0PICIDX, TID.
func temporalPacket(buf []byte, i int) {
	seq, ts, pid := uint16(5002+i), uint32(3000*(1+i)), uint16(301+i)&0x7fff
	pos := (1 + i) % 4
	buf[2], buf[3] = byte(seq>>8), byte(seq)
	buf[4], buf[5], buf[6], buf[7] = byte(ts>>24), byte(ts>>16), byte(ts>>8), byte(ts)
	buf[12+2], buf[12+3] = 0x80|byte(pid>>8), byte(pid)
	buf[12+4] = byte((1+i)/4 + 1)
	buf[12+5] = [...]byte{0, 2, 1, 2}[pos] << 6
	if pos == 1 || pos == 2 {
		buf[12+5] |= 0x20
	}
}

// BenchmarkForwardTemporal: the fan-out of a stream with temporal layers to down tracks half of
// which thin it to temporal layer 1.
func BenchmarkForwardTemporal(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("downtracks=%d", n), func(b *testing.B) {
			r, l, pkt := temporalFanout(n)
			var p Packet
			b.ReportAllocs()
			b.SetBytes(int64(len(pkt)))
			b.ResetTimer()
			for i := range b.N {
				temporalPacket(pkt, i)
				r.forward(l, pkt, &p)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/downtrack")
		})
	}
}

// temporalFanout is a receiver whose n down tracks (half thinned to temporal layer 1) have
// started at a keyframe, and a delta packet to renumber with temporalPacket.
func temporalFanout(n int) (*Receiver, *upLayer, []byte) {
	r := testReceiver(vp8Codec, webrtc.RTPCodecTypeVideo, nil, 0)
	w := &captureWriter{discard: true}
	for i := range n {
		d := boundDownTrack(r, webrtc.SSRC(i+1), w)
		if i%2 == 0 {
			d.SetTargetTemporal(1)
		}
	}
	feed(r, temporalStream(0, 1)...)
	payload := make([]byte, 1100)
	copy(payload, vp8T(false, true, 301, 1, 2, true))
	return r, r.layers[0].Load(), marshal(5002, 3000, true, payload)
}

func TestForwardTemporalDoesNotAllocate(t *testing.T) {
	r, l, pkt := temporalFanout(10)
	var p Packet
	i := 0
	if allocs := testing.AllocsPerRun(500, func() {
		temporalPacket(pkt, i)
		r.forward(l, pkt, &p)
		i++
	}); allocs != 0 {
		t.Fatalf("forwarding one packet to 10 down tracks, half thinning it, allocates %.1f times", allocs)
	}
	// Of the 501 frames after the keyframe (1 to 501), the thinned ones left out the odd: TID 2.
	var thinned, whole DownTrackStats
	for _, d := range *r.downTracks.Load() {
		if s := d.Stats(); s.TargetTemporal == 1 {
			thinned = s
		} else {
			whole = s
		}
	}
	if whole.Packets != 2+501 || whole.TemporalDrops != 0 || thinned.TemporalDrops != 251 || thinned.Packets != 2+250 {
		t.Fatalf("sent %d (left out %d) whole, %d (left out %d) thinned; want 503 (0) and 252 (251)",
			whole.Packets, whole.TemporalDrops, thinned.Packets, thinned.TemporalDrops)
	}
}

// TestTemporalAfterALayerSwitch: the frames of a new simulcast layer are decided on their own
// timestamps (each layer has its own base): a target set after a switch to a layer whose
// timestamps are behind the old one's still thins it.
func TestTemporalAfterALayerSwitch(t *testing.T) {
	r, d, _ := temporalTrackOf(t, &plis{}, 0, 1)
	shifted := func(from, n int, seq uint16, ts uint32) [][]byte { // temporalStream renumbered
		var out [][]byte
		for _, b := range temporalStream(from, n) {
			p := &rtp.Packet{}
			if err := p.Unmarshal(b); err != nil {
				t.Fatal(err)
			}
			p.SequenceNumber += seq
			p.Timestamp += ts
			b2, _ := p.Marshal()
			out = append(out, b2)
		}
		return out
	}
	feedLayer(r, 0, shifted(0, 4, 0, 1<<30)...) // layer 0's timestamps far ahead of layer 1's
	d.SetTargetLayer(1)
	feedLayer(r, 1, shifted(0, 4, 20000, 0)...)
	d.SetTargetTemporal(0)
	before := d.Stats().TemporalDrops
	feedLayer(r, 1, shifted(4, 8, 20000, 0)...) // frames 4..11: 4 and 8 are TL0
	if drops := d.Stats().TemporalDrops - before; drops != 12 {
		t.Errorf("after the switch, temporal target 0 left out %d packets of 8 frames, want 12 (6 frames)", drops)
	}
}

// TestTemporalUpWithoutSyncFrames: from a sender that never marks a layer sync frame, a down
// track that may go up asks for a keyframe after a second of waiting, and goes up at it.
func TestTemporalUpWithoutSyncFrames(t *testing.T) {
	pli := &plis{}
	r, d, _ := temporalTrackOf(t, pli, 0)
	d.SetTargetTemporal(0)
	noSync := func(from, n int) [][]byte {
		out := temporalStream(from, n)
		for _, b := range out {
			b[12+5] &^= 0x20 // no Y bit anywhere
		}
		return out
	}
	feed(r, noSync(0, 8)...)
	d.SetTargetTemporal(AllTemporal)
	before := pli.count()
	feed(r, noSync(8, 28)...) // 28 frames: under a second
	if pli.count() != before || d.CurrentTemporal() != 0 {
		t.Fatalf("within a second: %d keyframe requests, temporal layer %d; want none, still 0", pli.count()-before, d.CurrentTemporal())
	}
	feed(r, noSync(36, 4)...) // past a second since the first frame that could not go up
	if pli.count() == before {
		t.Fatal("no keyframe asked for after a second without a sync frame")
	}
	key := temporalStream(0, 1) // a keyframe: frame 0 of the pattern, renumbered after frame 39
	for _, b := range key {
		p := &rtp.Packet{}
		if err := p.Unmarshal(b); err != nil {
			t.Fatal(err)
		}
		p.SequenceNumber += 80
		p.Timestamp += 40 * 3000
		nb, _ := p.Marshal()
		feed(r, nb)
	}
	if d.CurrentTemporal() != AllTemporal {
		t.Errorf("after the keyframe: temporal layer %d, want all", d.CurrentTemporal())
	}
}
