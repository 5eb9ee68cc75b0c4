package sfu

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/sfu/fanout"
)

// pooledReceiver is a VP8 receiver whose fan-out goes to writers once it has more than inline
// down tracks.
func pooledReceiver(inline int) *Receiver {
	r := testReceiver(vp8Codec, webrtc.RTPCodecTypeVideo, nil, 0)
	r.p.InlineFanOut = inline
	return r
}

// checkContiguous fails unless got is want's payloads in a run of consecutive sequence numbers.
func checkContiguous(t *testing.T, who string, got []rtp.Packet, want [][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s got %d packets, want %d", who, len(got), len(want))
	}
	for i, p := range got {
		if !bytes.Equal(p.Payload, want[i]) || p.SequenceNumber != got[0].SequenceNumber+uint16(i) {
			t.Fatalf("%s: packet %d is seq %d with %x, want seq %d with %x", who, i, p.SequenceNumber, p.Payload,
				got[0].SequenceNumber+uint16(i), want[i])
		}
	}
}

// TestWritersTakeOverTheFanOut: once a track has more down tracks than InlineFanOut, writers
// send its packets; every down track, those added before the switch and after, gets every
// packet once, in order, in one contiguous run of its own numbering, and NACKs are still
// answered from the cache.
func TestWritersTakeOverTheFanOut(t *testing.T) {
	r := pooledReceiver(2)
	defer r.Close()
	var ws []*captureWriter
	var ds []*DownTrack
	bind := func() {
		w := &captureWriter{}
		ws = append(ws, w)
		ds = append(ds, boundDownTrack(r, webrtc.SSRC(100+len(ws)), w))
	}
	bind()
	bind()
	feed(r, marshal(10, 1000, false, vp8Key), marshal(11, 1000, true, vp8Cont))
	if r.Stats().Writers != 0 {
		t.Fatal("writers for two down tracks: the reader sends to as many as InlineFanOut itself")
	}
	for range 6 {
		bind()
	}
	if st := r.Stats(); st.Writers != 2 {
		t.Fatalf("%d writers for 8 down tracks, want 2 (4 each)", st.Writers)
	}
	feed(r, marshal(12, 4000, true, vp8Delta), marshal(13, 7000, false, vp8Key), marshal(14, 7000, true, vp8Cont))
	for seq := uint16(15); seq < 15+queueSafe; seq++ {
		feed(r, marshal(seq, 3000*uint32(seq), true, vp8Delta))
	}
	r.pool.Drain()
	all := [][]byte{vp8Key, vp8Cont, vp8Delta, vp8Key, vp8Cont}
	for range queueSafe {
		all = append(all, vp8Delta)
	}
	for i, w := range ws {
		want := all
		if i >= 2 {
			want = all[3:] // from the keyframe after they came
		}
		checkContiguous(t, "down track "+string(rune('0'+i)), w.got(), want)
	}
	if m := r.Stats().Missed; m != 0 {
		t.Errorf("%d packets missed, want none", m)
	}
	lost := ws[0].got()[2]
	ds[0].HandleRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{MediaSSRC: 101, Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{lost.SequenceNumber})}})
	if got := ws[0].got(); len(got) != len(all)+1 || got[len(all)].SequenceNumber != lost.SequenceNumber || !bytes.Equal(got[len(all)].Payload, vp8Delta) {
		t.Fatal("a NACK was not answered from the cache in the subscriber's numbering")
	}
	r.RemoveDownTrack(ds[7])
	r.RemoveDownTrack(ds[6])
	if st := r.Stats(); st.Writers != 2 || st.DownTracks != 6 {
		t.Errorf("%d writers, %d down tracks after two left: want 2 and 6", st.Writers, st.DownTracks)
	}
}

// queueSafe is how many packets TestWritersTakeOverTheFanOut sends at once: fewer than a
// writer's queue holds.
const queueSafe = 50

// blockingWriter is a subscriber whose writes wait until release is closed (a stuck send).
type blockingWriter struct {
	captureWriter
	entered chan struct{}
	release chan struct{}
}

func (w *blockingWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	select {
	case w.entered <- struct{}{}:
	default:
	}
	<-w.release
	return w.captureWriter.WriteRTP(h, payload)
}

// TestAStuckSubscriberDoesNotHoldTheReader: with writers, the reader hands packets on and
// returns while a writer is stuck on one subscriber; the subscribers of the other writer get
// them meanwhile, and the stuck writer's queue is bounded (it misses what does not fit). With
// the reader sending itself, the first packet would hold it until the send returned.
func TestAStuckSubscriberDoesNotHoldTheReader(t *testing.T) {
	r := pooledReceiver(1)
	defer r.Close()
	bind := func(ssrc webrtc.SSRC, w webrtc.TrackLocalWriter) {
		d := NewDownTrack(r, DownTrackParams{TrackID: "TR_x", StreamID: "PA_x"})
		if _, err := d.Bind(fakeContext{codecs: []webrtc.RTPCodecParameters{opusCodec, vp8Codec}, ssrc: ssrc, w: w}); err != nil {
			t.Fatal(err)
		}
		r.AddDownTrack(d)
	}
	stuck := &blockingWriter{entered: make(chan struct{}, 1), release: make(chan struct{})}
	bind(1, stuck)
	for range 3 {
		bind(2, &captureWriter{discard: true}) // the stuck one's writer-mates
	}
	other := &blockingWriter{entered: make(chan struct{}, 1), release: make(chan struct{})}
	close(other.release) // never waits: it only says it was written to
	bind(3, other)       // on a second writer
	if r.Stats().Writers != 2 {
		t.Fatalf("%d writers, want 2", r.Stats().Writers)
	}
	fed := make(chan struct{})
	n := 5 + 200 // more than a queue holds
	go func() {
		feed(r, marshal(10, 1000, true, vp8Key))
		for i := range n - 1 {
			feed(r, marshal(11+uint16(i), 4000+uint32(i)*3000, true, vp8Delta))
		}
		close(fed)
	}()
	select {
	case <-fed:
	case <-time.After(10 * time.Second): // the reader only queues: far under a second, even under -race
		t.Fatal("the reader waited for a stuck subscriber")
	}
	<-stuck.entered
	<-other.entered // the other writer sends while the first is stuck
	if r.Stats().Missed == 0 {
		t.Error("the stuck writer's queue took everything: unbounded")
	}
	close(stuck.release)
	r.pool.Drain()
	// The one in hand and a full queue's (one fewer if the writer took the first late).
	if got := stuck.got(); len(got) < fanout.QueueLen || len(got) > fanout.QueueLen+1 || !bytes.Equal(got[0].Payload, vp8Key) {
		t.Errorf("the stuck subscriber got %d packets, want the one in hand and a full queue's", len(got))
	}
}

// TestPaddingWaitsForTheWriter: a probe's padding is not sent while the down track's writer
// has a packet in hand (numbered, perhaps waiting in its sendmmsg batch), as it waits for a
// reader's fan-out.
func TestPaddingWaitsForTheWriter(t *testing.T) {
	sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	r := pooledReceiver(1)
	defer r.Close()
	d := directDownTrack(t, r, 4242, mediaSocket(t), sink, testKeys(), nil)
	directDownTrack(t, r, 4243, mediaSocket(t), sink, testKeys(), nil)
	feed(r, marshal(10, 1000, true, vp8Key))
	r.pool.Drain()
	w := d.writer.Load()
	if w == nil {
		t.Fatal("the down track has no writer")
	}
	w.Lock() // a packet in hand
	sent := make(chan int, 1)
	go func() { sent <- d.SendPadding(2) }()
	select {
	case <-sent:
		w.Unlock()
		t.Fatal("padding went out while the writer had a packet in hand")
	case <-time.After(50 * time.Millisecond): // it never goes while held; 50 ms shows it did not at once
	}
	w.Unlock()
	if bits := <-sent; bits == 0 {
		t.Fatal("no padding after the writer's packet")
	}
}

// TestWritersDoNotAllocate: a packet handed to writers and sent by them on Podium's path
// (number for the estimator, marshal, encrypt, sendmmsg) allocates nothing, reader and
// writers together.
func TestWritersDoNotAllocate(t *testing.T) {
	sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	r := pooledReceiver(1)
	defer r.Close()
	sock := mediaSocket(t)
	for i := range 10 {
		directDownTrack(t, r, webrtc.SSRC(i+1), sock, sink, testKeys(), nil)
	}
	if r.Stats().Writers < 2 {
		t.Fatalf("%d writers, want several", r.Stats().Writers)
	}
	feed(r, marshal(0, 0, false, vp8Key))
	pkt := marshal(1, 3000, true, vp8Delta)
	var p Packet
	l := r.layers[0].Load()
	r.forward(l, pkt, &p)
	r.pool.Drain()
	seq := uint16(1)
	allocs := testing.AllocsPerRun(500, func() {
		seq++
		pkt[2], pkt[3] = byte(seq>>8), byte(seq)
		r.forward(l, pkt, &p)
		r.pool.Drain()
	})
	if allocs != 0 {
		t.Fatalf("one packet through the writers allocates %.1f times", allocs)
	}
}

// TestWritersCatchUpALateKeyframeStart: TestLateKeyframeStartCatchesUp with writers sending: a
// keyframe's first packet resent late is followed by the rest of the keyframe from the cache
// (the writer learns from the reader that the packet was late, and the newest since).
func TestWritersCatchUpALateKeyframeStart(t *testing.T) {
	r := pooledReceiver(1)
	defer r.Close()
	w := &captureWriter{}
	boundDownTrack(r, 77, w)
	boundDownTrack(r, 78, &captureWriter{discard: true})
	feed(r, marshal(101, 9000, false, vp8Cont), marshal(102, 9000, false, vp8Cont), marshal(103, 9000, true, vp8Cont))
	feed(r, marshal(100, 9000, false, vp8Key)) // the keyframe's start, resent
	feed(r, marshal(104, 12000, true, vp8Delta))
	r.pool.Drain()
	checkContiguous(t, "the subscriber", w.got(), [][]byte{vp8Key, vp8Cont, vp8Cont, vp8Cont, vp8Delta})
}

// TestEngineHandsLargeFanOutsToWriters: the engine's default is DefaultInlineFanOut, which the
// publisher's Peer passes to each Receiver; a negative setting keeps every fan-out inline.
func TestEngineHandsLargeFanOutsToWriters(t *testing.T) {
	for _, c := range []struct{ set, want int }{{0, DefaultInlineFanOut}, {-1, -1}, {8, 8}} {
		e, err := NewEngine(Config{BindIP: "127.0.0.1", TCPPort: -1, InlineFanOut: c.set})
		if err != nil {
			t.Fatal(err)
		}
		if got := e.Config().InlineFanOut; got != c.want {
			t.Errorf("InlineFanOut %d became %d, want %d", c.set, got, c.want)
		}
		_ = e.Close()
	}
	r := pooledReceiver(-1)
	for i := range 40 {
		boundDownTrack(r, webrtc.SSRC(i+1), &captureWriter{discard: true})
	}
	if n := r.Stats().Writers; n != 0 {
		t.Errorf("%d writers with InlineFanOut -1, want none", n)
	}
}
