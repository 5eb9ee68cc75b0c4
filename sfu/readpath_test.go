package sfu

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/internal/rtpext"
	"github.com/podium-sfu/podium/sfu/bwe"
	"github.com/podium-sfu/podium/sfu/fastpath"
	"github.com/podium-sfu/podium/sfu/feedback"
	"github.com/podium-sfu/podium/sfu/udpsock"
)

// inboundFixture is a media socket read through Podium's read path, a subscriber socket, and
// the Transport (with an estimator) that connects them.
type inboundFixture struct {
	in       *fastpath.Conn
	client   *net.UDPConn
	tr       *fastpath.Transport
	est      *bwe.Estimator
	up       *feedback.Upstream // the feedback, should the client publish
	d        *DownTrack
	encrypt  *srtp.Context // the subscriber's SRTCP context
	stranger *net.UDPConn  // a socket no Transport owns
}

func newInboundFixture(t *testing.T) *inboundFixture {
	t.Helper()
	lo := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}
	server, err := net.ListenUDP("udp4", lo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	f := &inboundFixture{}
	for _, c := range []**net.UDPConn{&f.client, &f.stranger} {
		if *c, err = net.ListenUDP("udp4", lo); err != nil {
			t.Fatal(err)
		}
		conn := *c
		t.Cleanup(func() { conn.Close() })
	}
	routes := &fastpath.Routes{}
	f.in = fastpath.NewConn(server, routes)
	keys := testKeys()
	keys.RemoteKey, keys.RemoteSalt = bytes.Repeat([]byte{3}, 16), bytes.Repeat([]byte{5}, 12)
	f.est, f.up = bwe.New(1_000_000, bwe.MinEstimate, 10_000_000), feedback.New()
	f.tr = fastpath.New(fastpath.Params{Routes: routes, Estimator: f.est, Feedback: f.up})
	f.tr.Own(keys, udpsock.New(server), f.client.LocalAddr().(*net.UDPAddr).AddrPort())
	r := testReceiver(vp8Codec, webrtc.RTPCodecTypeVideo, nil, 0)
	f.d = NewDownTrack(r, DownTrackParams{TrackID: "TR_x", StreamID: "PA_x", Transport: f.tr})
	codecs := []webrtc.RTPCodecParameters{opusCodec, vp8Codec}
	if _, err := f.d.Bind(fakeContext{codecs: codecs, ssrc: 4242, w: &captureWriter{discard: true}}); err != nil {
		t.Fatal(err)
	}
	r.AddDownTrack(f.d)
	if f.encrypt, err = srtp.CreateContext(keys.RemoteKey, keys.RemoteSalt, keys.Profile); err != nil {
		t.Fatal(err)
	}
	return f
}

// publisherLayer makes the fixture's Transport a publisher's, with the feedback to it, and gives
// the read path a VP8 Receiver whose layer 0 is ssrc, handed over (TestReadPathHandOver) as
// AddLayer does with a pion track.
func (f *inboundFixture) publisherLayer(ssrc uint32) *Receiver {
	f.up.AddStream(ssrc, 90000, 0)
	r := testReceiver(vp8Codec, webrtc.RTPCodecTypeVideo, nil, 0)
	r.p.Transport = f.tr
	f.tr.AddLayer(ssrc, r.layers[0].Load())
	r.layers[0].Load().ownPath.Store(true)
	return r
}

// send encrypts a compound RTCP packet as the subscriber and sends it from conn.
func (f *inboundFixture) send(t *testing.T, conn *net.UDPConn, pkts ...rtcp.Packet) {
	t.Helper()
	b, err := rtcp.Marshal(pkts)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := f.encrypt.EncryptRTCP(nil, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.raw(t, conn, enc)
}

func (f *inboundFixture) raw(t *testing.T, conn *net.UDPConn, b []byte) {
	t.Helper()
	if _, err := conn.WriteTo(b, f.in.LocalAddr()); err != nil {
		t.Fatal(err)
	}
}

// next is the next datagram the read path leaves to pion.
func (f *inboundFixture) next(t *testing.T) ([]byte, netip.AddrPort) {
	t.Helper()
	_ = f.in.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1500)
	n, addr, err := f.in.ReadFromAddrPort(buf)
	if err != nil {
		t.Fatal(err)
	}
	return buf[:n], addr
}

var stunBinding = []byte{0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}

// TestInboundTakesSubscriberRTCP: the socket reader decrypts a subscriber's SRTCP and hands
// each part to whom it concerns (the estimator its transport-wide feedback, the down track its
// report, PLI and NACK), and leaves everything else to pion: STUN, RTCP from an address no
// Transport owns, packets that do not decrypt, and RTCP after the connection's route is gone.
func TestInboundTakesSubscriberRTCP(t *testing.T) {
	f := newInboundFixture(t)
	for seq := uint16(1); seq <= 2; seq++ {
		f.est.OnSent(seq, 1200)
	}
	twcc := &rtcp.TransportLayerCC{Header: twccHeader(5), SenderSSRC: 1, MediaSSRC: 4242, BaseSequenceNumber: 1, PacketStatusCount: 2,
		PacketChunks: []rtcp.PacketStatusChunk{&rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketReceivedSmallDelta, RunLength: 2}},
		RecvDeltas:   []*rtcp.RecvDelta{{Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 250}, {Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 500}}}
	f.send(t, f.client,
		&rtcp.ReceiverReport{SSRC: 1, Reports: []rtcp.ReceptionReport{{SSRC: 4242, FractionLost: 64, Jitter: 90}}},
		&rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{{Source: 1, Items: []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: "bob"}}}}},
		twcc,
		&rtcp.PictureLossIndication{SenderSSRC: 1, MediaSSRC: 4242},
		&rtcp.PictureLossIndication{SenderSSRC: 1, MediaSSRC: 999}, // not this connection's
	)
	f.raw(t, f.client, stunBinding)
	if got, addr := f.next(t); !bytes.Equal(got, stunBinding) || addr != f.client.LocalAddr().(*net.UDPAddr).AddrPort() {
		t.Fatalf("pion got %x from %v first, want the STUN message from the subscriber", got, addr)
	}
	st := f.d.Stats()
	if st.PLIs != 1 || st.FractionLost != 0.25 || st.Jitter != 90 || st.DirectRTCP != 2 {
		t.Errorf("down track saw %+v: want 1 PLI, the report's loss 0.25 and jitter 90, 2 RTCP packets", st)
	}
	if !f.est.HasFeedback() || f.tr.RTCPTaken() != 1 {
		t.Errorf("estimator feedback %v, %d packets taken: want the feedback and 1", f.est.HasFeedback(), f.tr.RTCPTaken())
	}

	// From an address no Transport owns: pion's.
	pli := &rtcp.PictureLossIndication{SenderSSRC: 1, MediaSSRC: 4242}
	f.send(t, f.stranger, pli)
	if got, addr := f.next(t); !rtpext.IsRTCP(got) || addr != f.stranger.LocalAddr().(*net.UDPAddr).AddrPort() {
		t.Fatalf("pion got %x from %v, want the stranger's RTCP", got, addr)
	}
	// Tampered: pion's, which drops it (and says so).
	b, _ := rtcp.Marshal([]rtcp.Packet{pli})
	enc, _ := f.encrypt.EncryptRTCP(nil, b, nil)
	enc[len(enc)-1] ^= 1
	f.raw(t, f.client, enc)
	if got, _ := f.next(t); !bytes.Equal(got, enc) {
		t.Fatalf("a packet that does not decrypt did not reach pion")
	}
	// Unbound track: its RTCP is nobody's; after the route is gone, the connection's RTCP is pion's.
	_ = f.d.Unbind(nil)
	f.send(t, f.client, pli)
	f.raw(t, f.client, stunBinding)
	if got, _ := f.next(t); !bytes.Equal(got, stunBinding) {
		t.Fatalf("pion got %x, want the STUN message after the unbound track's RTCP", got)
	}
	f.tr.Own(f.tr.Keys(), nil, netip.AddrPort{})
	f.send(t, f.client, pli)
	if got, _ := f.next(t); !rtpext.IsRTCP(got) {
		t.Fatalf("pion got %x, want the RTCP sent after the route was removed", got)
	}
	if st := f.d.Stats(); st.PLIs != 1 || f.tr.RTCPTaken() != 2 {
		t.Errorf("after unbind: %d PLIs, %d packets taken; want 1 and 2", st.PLIs, f.tr.RTCPTaken())
	}
}

// TestInboundForwardsPublisherRTP: the socket reader decrypts a publisher's RTP of a layer the
// read path has, records it for the publisher's feedback and forwards it to the subscribers;
// RTP of a stream it does not have (pion reads a simulcast layer's first packets to learn its
// rid) goes to pion, a packet of the layer that does not decrypt is dropped (pion's context has
// not followed the stream since the hand-over); sender reports reach the feedback.
func TestInboundForwardsPublisherRTP(t *testing.T) {
	f := newInboundFixture(t)
	r := f.publisherLayer(1000)
	w := &captureWriter{}
	boundDownTrack(r, 77, w)
	srtpPacket := func(ssrc uint32, seq uint16, marker bool, payload []byte) []byte {
		b := marshal(seq, 3000, marker, payload)
		binary.BigEndian.PutUint32(b[8:12], ssrc)
		enc, err := f.encrypt.EncryptRTP(nil, b, nil)
		if err != nil {
			t.Fatal(err)
		}
		return enc
	}
	f.raw(t, f.client, srtpPacket(1000, 10, false, vp8Key))
	f.raw(t, f.client, srtpPacket(1000, 11, true, vp8Cont))
	f.send(t, f.client, &rtcp.SenderReport{SSRC: 1000, NTPTime: 42 << 32})
	bad := srtpPacket(1000, 12, false, vp8Cont)
	bad[len(bad)-1] ^= 1
	f.raw(t, f.client, bad)
	unknown := srtpPacket(5555, 1, false, vp8Key)
	f.raw(t, f.client, unknown)
	if got, _ := f.next(t); !bytes.Equal(got, unknown) {
		t.Fatalf("pion got %x first, want the packet of a stream the read path does not have", got)
	}
	if n := f.tr.Dropped(); n != 1 {
		t.Errorf("%d packets dropped, want the one that does not decrypt", n)
	}
	got := w.got()
	if len(got) != 2 || !bytes.Equal(got[0].Payload, vp8Key) || !bytes.Equal(got[1].Payload, vp8Cont) || got[0].SSRC != 77 {
		t.Fatalf("the subscriber got %d packets, want the keyframe and its continuation as SSRC 77", len(got))
	}
	if st := r.Stats().Layers[0]; st.Direct != 2 || st.Packets != 2 {
		t.Errorf("layer stats %+v: want 2 packets, both direct", st)
	}
	s, _ := f.up.Stats(1000)
	if received, sr := s.Received, s.LastSR; received != 2 || sr != uint32((uint64(42)<<32)>>16) {
		t.Errorf("feedback state: %d received, LSR %#x; want 2 and the sender report's", received, sr)
	}
	// Taken back (the track closed): pion's again.
	r.Close()
	again := srtpPacket(1000, 13, false, vp8Cont)
	f.raw(t, f.client, again)
	if got, _ := f.next(t); !bytes.Equal(got, again) {
		t.Fatalf("after Close pion got %x, want the layer's packet", got)
	}
}

// TestReadPathFollowsTheRolloverCounter: Podium's read path decrypts a publisher's stream whose
// first packets it sees came after a wrap (pion read the ones before it, ahead of the hand-over),
// and again after a gap of more than half a cycle across another wrap (the route was elsewhere):
// the sequence number alone gives the wrong rollover counter in both cases (issue 16).
func TestReadPathFollowsTheRolloverCounter(t *testing.T) {
	f := newInboundFixture(t)
	r := f.publisherLayer(1000)
	w := &captureWriter{}
	boundDownTrack(r, 77, w)
	seq := uint16(65530)
	next := func(send bool, payload []byte) {
		b := marshal(seq, uint32(seq)*3000, true, payload)
		binary.BigEndian.PutUint32(b[8:12], 1000)
		enc, err := f.encrypt.EncryptRTP(nil, b, nil)
		if err != nil {
			t.Fatal(err)
		}
		if send {
			f.raw(t, f.client, enc)
		}
		seq++
	}
	for range 6 {
		next(false, vp8Delta) // pion's, before the hand-over: 65530-65535
	}
	next(true, vp8Key) // rollover counter 1
	for range 4 {
		next(true, vp8Delta)
	}
	for range 70000 {
		next(false, vp8Delta) // elsewhere
	}
	for range 3 {
		next(true, vp8Delta) // rollover counter 2, 70000 after the last one seen
	}
	f.raw(t, f.client, stunBinding)
	if got, _ := f.next(t); !bytes.Equal(got, stunBinding) { // the reader took all before it
		t.Fatalf("pion got %x, want the STUN message", got)
	}
	if got := w.got(); len(got) != 8 || !bytes.Equal(got[0].Payload, vp8Key) {
		t.Fatalf("forwarded %d packets, want 8, a keyframe first", len(got))
	}
	if n := f.tr.Dropped(); n != 0 {
		t.Errorf("%d packets dropped, want none", n)
	}
	if !f.tr.Owned() {
		t.Error("the keys failed their check")
	}
}

// TestPublisherFeedbackUsesTheKernelsArrival: a publisher's packet that waited 150 ms in the
// socket (its reader busy) is recorded for the publisher's feedback at the time it arrived.
func TestPublisherFeedbackUsesTheKernelsArrival(t *testing.T) {
	f := newInboundFixture(t)
	f.publisherLayer(1000)
	b := marshal(10, 3000, true, vp8Key)
	binary.BigEndian.PutUint32(b[8:12], 1000)
	enc, err := f.encrypt.EncryptRTP(nil, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The kernel turns stamping on in deferred work: what comes first may be stamped at the read.
	f.raw(t, f.stranger, stunBinding)
	time.Sleep(30 * time.Millisecond)
	f.next(t)
	sent := time.Now()
	f.raw(t, f.client, enc)
	f.raw(t, f.stranger, stunBinding) // what the read returns, after taking the packet
	time.Sleep(150 * time.Millisecond)
	f.next(t)
	s, _ := f.up.Stats(1000)
	arrival, received := s.LastArrival, s.Received
	if received != 1 {
		t.Fatalf("%d packets recorded, want 1", received)
	}
	if lag := time.Unix(0, arrival).Sub(sent); lag < -5*time.Millisecond || lag > 50*time.Millisecond {
		t.Errorf("recorded %v after the send, want within 50 ms: it was read 150 ms later", lag)
	}
}

// TestReadPathHandOver: Podium's read path leaves a layer's packets to pion until pion's reader
// has forwarded the newest packet the socket saw, so that nothing pion still buffers arrives
// after newer packets.
func TestReadPathHandOver(t *testing.T) {
	r := testReceiver(vp8Codec, webrtc.RTPCodecTypeVideo, nil, 0)
	l := r.layers[0].Load()
	if l.HandedOver(10) || l.HandedOver(11) {
		t.Fatal("handed over before pion's reader forwarded anything")
	}
	l.pionForwarded(marshal(9, 0, false, vp8Cont))
	l.pionForwarded(marshal(10, 0, false, vp8Cont))
	if l.HandedOver(12) {
		t.Fatal("handed over while pion still buffers 11 and 12")
	}
	l.pionForwarded(marshal(11, 0, false, vp8Cont))
	if l.HandedOver(13) {
		t.Fatal("handed over while pion still buffers 12 and 13")
	}
	l.pionForwarded(marshal(13, 0, false, vp8Cont))
	if !l.HandedOver(14) || !l.HandedOver(15) {
		t.Fatal("not handed over after pion's reader forwarded the newest packet the socket saw")
	}
}

// readPathTWCC is the transport-wide sequence extension's id in the read path's fixture.
const readPathTWCC = 5

// readPathFixture is a publisher's layer handed over to Podium's read path, with n subscribers
// on pion's write path (discarding), and the publisher's encryption.
func readPathFixture(tb testing.TB, n int) (*fastpath.Transport, *srtp.Context) {
	tb.Helper()
	keys := testKeys()
	keys.RemoteKey, keys.RemoteSalt = bytes.Repeat([]byte{3}, 16), bytes.Repeat([]byte{5}, 12)
	up := feedback.New()
	tr := fastpath.New(fastpath.Params{Feedback: up})
	tr.Own(keys, nil, netip.AddrPort{})
	tr.SetTransportCC(readPathTWCC)
	up.AddStream(1000, 90000, readPathTWCC)
	r := testReceiver(vp8Codec, webrtc.RTPCodecTypeVideo, nil, 0)
	r.p.Transport = tr
	l := r.layers[0].Load()
	tr.AddLayer(1000, l)
	l.ownPath.Store(true)
	for i := range n {
		boundDownTrack(r, webrtc.SSRC(i+1), &captureWriter{discard: true})
	}
	enc, err := srtp.CreateContext(keys.RemoteKey, keys.RemoteSalt, keys.Profile)
	if err != nil {
		tb.Fatal(err)
	}
	return tr, enc
}

// BenchmarkReadPath is what one packet from a publisher costs on Podium's read path before the
// fan-out's sends: SRTP decryption, the record for the publisher's feedback, the layer's parse,
// cache store and the decision for each of 10 down tracks (writing to a discarding writer). The
// publisher's encryption of each packet is in the loop too (BenchmarkFloor measures one).
func BenchmarkReadPath(b *testing.B) {
	tr, enc := readPathFixture(b, 10)
	h0 := rtp.Header{Version: 2, PayloadType: 96, SSRC: 1000, Marker: true}
	if err := h0.SetExtension(readPathTWCC, []byte{0, 0}); err != nil {
		b.Fatal(err)
	}
	plain, err := (&rtp.Packet{Header: h0, Payload: append(append([]byte(nil), vp8Key...), make([]byte, 1000)...)}).Marshal()
	if err != nil {
		b.Fatal(err)
	}
	twccSeq := rtpext.Find(plain, readPathTWCC) // recorded at arrival and in the feedback
	wire := make([]byte, 0, 1500)
	out := make([]byte, 1600)
	var h rtp.Header
	b.ReportAllocs()
	b.SetBytes(int64(len(plain)))
	for i := range b.N {
		binary.BigEndian.PutUint16(plain[2:4], uint16(i))
		binary.BigEndian.PutUint32(plain[4:8], uint32(i/10)*3000)
		binary.BigEndian.PutUint16(twccSeq, uint16(i))
		pkt, err := enc.EncryptRTP(wire[:0], plain, &h)
		if err != nil {
			b.Fatal(err)
		}
		if !tr.ReceiveRTP(pkt, out, 0) {
			b.Fatal("not taken")
		}
	}
}

// TestReadPathDoesNotAllocate: decrypting, recording and forwarding a publisher's packet on
// Podium's read path allocates nothing.
func TestReadPathDoesNotAllocate(t *testing.T) {
	tr, enc := readPathFixture(t, 10)
	plain := marshal(0, 0, true, vp8Key)
	binary.BigEndian.PutUint32(plain[8:12], 1000)
	wire := make([]byte, 0, 1500)
	out := make([]byte, 1600)
	var h rtp.Header
	seq := uint16(0)
	step := func() {
		seq++
		binary.BigEndian.PutUint16(plain[2:4], seq)
		pkt, err := enc.EncryptRTP(wire[:0], plain, &h)
		if err != nil || !tr.ReceiveRTP(pkt, out, 0) {
			t.Fatalf("packet %d not taken: %v", seq, err)
		}
	}
	for range 100 {
		step() // contexts, replay windows, the recorder's first growth
	}
	if allocs := testing.AllocsPerRun(500, step); allocs != 0 {
		t.Errorf("one packet on the read path allocates %.2f times", allocs)
	}
}
