package sfu

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/sfu/bwe"
	"github.com/podium-sfu/podium/sfu/fastpath"
	"github.com/podium-sfu/podium/sfu/udpsock"
)

// directDownTrack is a down track whose Transport sends to a loopback socket with known keys
// (and numbers packets for est, when there is one).
func directDownTrack(t testing.TB, r *Receiver, ssrc webrtc.SSRC, sock *udpsock.Socket, sink *net.UDPConn, keys *fastpath.Keys, est *bwe.Estimator) *DownTrack {
	tr := fastpath.New(fastpath.Params{Estimator: est})
	tr.Own(keys, sock, sink.LocalAddr().(*net.UDPAddr).AddrPort())
	d := NewDownTrack(r, DownTrackParams{TrackID: "TR_x", StreamID: "PA_x", Transport: tr})
	codecs := []webrtc.RTPCodecParameters{opusCodec, vp8Codec}
	codecs[1].PayloadType = 100
	pion := &captureWriter{}
	exts := []webrtc.RTPHeaderExtensionParameter{{URI: TWCCURI, ID: 5}}
	if _, err := d.Bind(fakeContext{codecs: codecs, exts: exts, ssrc: ssrc, w: pion}); err != nil {
		t.Fatal(err)
	}
	r.AddDownTrack(d)
	return d
}

// mediaSocket is the server's side of a direct path test.
func mediaSocket(t testing.TB) *udpsock.Socket {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return udpsock.New(conn)
}

func testKeys() *fastpath.Keys {
	return &fastpath.Keys{Profile: srtp.ProtectionProfileAeadAes128Gcm, Key: bytes.Repeat([]byte{7}, 16), Salt: bytes.Repeat([]byte{9}, 12)}
}

// TestDirectWriteIsDecryptable: what the direct path sends is SRTP a subscriber with the same
// keys decrypts into the subscriber's numbering, media and padding alike.
func TestDirectWriteIsDecryptable(t *testing.T) {
	sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	keys := testKeys()
	r := testReceiver(vp8Codec, webrtc.RTPCodecTypeVideo, nil, 0)
	d := directDownTrack(t, r, 4242, mediaSocket(t), sink, keys, nil)
	feed(r, marshal(10, 1000, false, vp8Key))
	feed(r, marshal(11, 1000, true, vp8Cont))
	if d.SendPadding(1) == 0 {
		t.Fatal("no padding sent")
	}
	dec, err := srtp.CreateContext(keys.Key, keys.Salt, keys.Profile)
	if err != nil {
		t.Fatal(err)
	}
	_ = sink.SetReadDeadline(time.Now().Add(5 * time.Second))
	var got []rtp.Packet
	buf := make([]byte, 1600)
	for range 3 {
		n, err := sink.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		plain, err := dec.DecryptRTP(nil, buf[:n], nil)
		if err != nil {
			t.Fatalf("decrypt: %v", err)
		}
		var p rtp.Packet
		if err := p.Unmarshal(plain); err != nil {
			t.Fatal(err)
		}
		got = append(got, p)
	}
	if got[0].SSRC != 4242 || got[0].PayloadType != 100 || !bytes.Equal(got[0].Payload, vp8Key) || !bytes.Equal(got[1].Payload, vp8Cont) {
		t.Errorf("media arrived as %+v / %+v", got[0].Header, got[1].Header)
	}
	if got[1].SequenceNumber != got[0].SequenceNumber+1 || got[2].SequenceNumber != got[1].SequenceNumber+1 {
		t.Errorf("sequence %d, %d, %d: want consecutive", got[0].SequenceNumber, got[1].SequenceNumber, got[2].SequenceNumber)
	}
	if !got[2].Padding || got[2].PaddingSize != 255 || len(got[2].Payload) != 0 {
		t.Errorf("padding arrived as %+v with %d payload bytes", got[2].Header, len(got[2].Payload))
	}
	if st := d.Stats(); st.Direct != 3 || st.Packets != 2 {
		t.Errorf("stats %+v: want 3 direct packets, 2 media", st)
	}
	sr, ok := d.SenderReport(time.Now())
	if !ok || sr.SSRC != 4242 || sr.PacketCount != 2 || sr.OctetCount != uint32(len(vp8Key)+len(vp8Cont)) {
		t.Errorf("sender report %+v", sr)
	}
}

// TestDirectForwardDoesNotAllocate: the direct path (number for the estimator, marshal, encrypt,
// send) allocates nothing.
func TestDirectForwardDoesNotAllocate(t *testing.T) {
	sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	r := testReceiver(vp8Codec, webrtc.RTPCodecTypeVideo, nil, 0)
	sock := mediaSocket(t)
	est := bwe.New(1_000_000, bwe.MinEstimate, 10_000_000) // numbering and recording too
	for i := range 10 {
		directDownTrack(t, r, webrtc.SSRC(i+1), sock, sink, testKeys(), est)
	}
	if allocs := forwardAllocs(r); allocs != 0 {
		t.Fatalf("forwarding one packet to 10 direct down tracks allocates %.1f times", allocs)
	}
}

// BenchmarkForwardDirect is the whole per-subscriber cost on Podium's write path: decide,
// rewrite, marshal, SRTP-encrypt and send to a loopback socket, with the fan-out's datagrams
// handed to the kernel in sendmmsg batches and, for comparison, one sendto each; with the
// bandwidth estimator, each packet is also numbered and recorded for it.
func BenchmarkForwardDirect(b *testing.B) {
	for _, c := range []struct{ batched, estimator bool }{{true, false}, {false, false}, {true, true}} {
		b.Run(fmt.Sprintf("sendmmsg=%v/estimator=%v", c.batched, c.estimator), func(b *testing.B) {
			benchmarkForwardDirect(b, c.batched, c.estimator)
		})
	}
}

func benchmarkForwardDirect(b *testing.B, batched, estimator bool) {
	sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	_ = sink.SetReadBuffer(4 << 20)
	go func() { // drains the sink until it closes
		buf := make([]byte, 1600)
		for {
			if _, err := sink.Read(buf); err != nil {
				return
			}
		}
	}()
	const n = 50
	r := testReceiver(vp8Codec, webrtc.RTPCodecTypeVideo, nil, 0)
	sock := mediaSocket(b)
	if !batched {
		sock = sock.Unbatched()
	}
	var est *bwe.Estimator
	if estimator {
		est = bwe.New(1_000_000, bwe.MinEstimate, 10_000_000)
	}
	for i := range n {
		d := directDownTrack(b, r, webrtc.SSRC(i+1), sock, sink, testKeys(), est)
		if estimator && twccIDOf(d) == 0 {
			b.Fatal("the down track does not number packets for the estimator")
		}
	}
	feed(r, marshal(0, 0, false, vp8Key))
	benchForward(b, r, 0, marshal(1, 3000, true, deltaPayload()), n)
}

// TestPaddingWaitsForTheFanOut: a probe's padding is not sent while the forwarded layer's
// reader is fanning out (its packets may wait in a sendmmsg batch, and padding numbered after
// them must not overtake them).
func TestPaddingWaitsForTheFanOut(t *testing.T) {
	sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	r := testReceiver(vp8Codec, webrtc.RTPCodecTypeVideo, nil, 0)
	d := directDownTrack(t, r, 4242, mediaSocket(t), sink, testKeys(), nil)
	feed(r, marshal(10, 1000, true, vp8Key))
	l := r.layers[0].Load()
	l.fwdMu.Lock() // a fan-out in progress
	sent := make(chan int, 1)
	go func() { sent <- d.SendPadding(2) }()
	select {
	case <-sent:
		l.fwdMu.Unlock()
		t.Fatal("padding went out during the fan-out")
	case <-time.After(50 * time.Millisecond):
	}
	l.fwdMu.Unlock()
	if bits := <-sent; bits == 0 {
		t.Fatal("no padding after the fan-out")
	}
}

// recordCheck is a media socket that checks, as each datagram leaves, that the estimator has
// already recorded it as sent.
type recordCheck struct {
	t        *testing.T
	est      *bwe.Estimator
	checked  int
	unlisted int
}

func (c *recordCheck) WriteToUDPAddrPort(b []byte, _ netip.AddrPort) (int, error) {
	var h rtp.Header
	if _, err := h.Unmarshal(b); err != nil {
		c.t.Errorf("sent a packet that is not RTP: %v", err)
		return len(b), nil
	}
	ext := h.GetExtension(5)
	if len(ext) < 2 {
		c.t.Error("sent a packet with no transport-wide sequence number")
		return len(b), nil
	}
	seq := binary.BigEndian.Uint16(ext)
	c.checked++
	if !c.est.Recorded(seq) {
		c.unlisted++
	}
	return len(b), nil
}

// TestSentIsRecordedBeforeItLeaves: every packet the direct path sends, media (through the
// fan-out's batch) and padding (sent at once), is in the estimator's record before the socket
// gets it. Recorded after the send, a thread preempted as the send returned dated it late, and
// the estimator's delay baseline with it (a phantom standing queue for up to 10 s).
func TestSentIsRecordedBeforeItLeaves(t *testing.T) {
	est := bwe.New(1_000_000, bwe.MinEstimate, 10_000_000)
	check := &recordCheck{t: t, est: est}
	sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	r := testReceiver(vp8Codec, webrtc.RTPCodecTypeVideo, nil, 0)
	d := directDownTrack(t, r, 4242, udpsock.FromWriter(check), sink, testKeys(), est)
	feed(r, marshal(10, 1000, false, vp8Key))
	feed(r, marshal(11, 1000, true, vp8Cont))
	if d.SendPadding(3) == 0 {
		t.Fatal("no padding sent")
	}
	if check.checked != 5 || check.unlisted != 0 {
		t.Errorf("%d of %d packets left before the estimator recorded them (want 5 packets, all recorded)", check.unlisted, check.checked)
	}
}
