package sfu

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/pion/rtp"
	rtpcodecs "github.com/pion/rtp/codecs"
	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"

	"github.com/podium-sfu/podium/sfu/bwe"
	"github.com/podium-sfu/podium/sfu/fastpath"
	"github.com/podium-sfu/podium/sfu/feedback"
	"github.com/podium-sfu/podium/sfu/udpsock"
	"github.com/podium-sfu/podium/testmedia"
)

// The head-of-line delay of issue 16: a media socket's reader fans out what it reads, and a
// packet that arrives while it fans out a keyframe to a large audience waits in the socket.
// The fixture is all real: one media socket on 127.0.0.1 read by Podium's read path, two
// publishers' SRTP, the subscribers' down tracks with their own SRTP contexts and estimators,
// sendmmsg to sink sockets.

// holFixture is the server's media socket with two publishers on it: A, whose 720p VP8
// keyframe goes to many subscribers, and B, an Opus publisher with an audience of its own.
type holFixture struct {
	conn       *fastpath.Conn
	server     netip.AddrPort
	pubA, pubB *net.UDPConn
	encA, encB *srtp.Context // the publishers' encryption
	rA, rB     *Receiver
	sinkB      *udpsock.Reader // B's subscribers' socket, read with the kernel's arrival times
	sinkBConn  *net.UDPConn
	keyframe   [][]byte // A's keyframe: RTP payloads
	opus       []byte   // one Opus packet's payload
	wire       []byte   // an encrypted packet, as a publisher sends it
	plain      []byte
	encHeader  rtp.Header // the publishers' encryption's parse, reused
	seqA, seqB uint16
	tsA, tsB   uint32
}

const (
	holSSRCA = 1000
	holSSRCB = 2000
)

func listenLoopback(tb testing.TB) *net.UDPConn {
	tb.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// newHOLFixture sets up the sockets and subscribers; inline is the publishers' Receivers'
// InlineFanOut.
func newHOLFixture(tb testing.TB, subsA, subsB, inline int) *holFixture {
	tb.Helper()
	server := listenLoopback(tb)
	_ = server.SetReadBuffer(4 << 20) // as the engine sets it
	_ = server.SetWriteBuffer(4 << 20)
	routes := &fastpath.Routes{}
	f := &holFixture{
		conn: fastpath.NewConn(server, routes), server: server.LocalAddr().(*net.UDPAddr).AddrPort(),
		pubA: listenLoopback(tb), pubB: listenLoopback(tb), sinkBConn: listenLoopback(tb),
		keyframe: vp8Keyframe720(tb, 1100), opus: opusPayload(tb),
		wire: make([]byte, 0, 1600), plain: make([]byte, 1600),
	}
	_ = f.sinkBConn.SetReadBuffer(4 << 20) // B's whole fan-out waits there until the end
	f.sinkB = udpsock.NewReader(f.sinkBConn)
	sinkA := listenLoopback(tb) // never read: the kernel discards what does not fit
	sock := udpsock.New(server)
	f.rA, f.encA = holPublisher(tb, routes, sock, f.pubA, vp8Codec, webrtc.RTPCodecTypeVideo, holSSRCA)
	f.rB, f.encB = holPublisher(tb, routes, sock, f.pubB, opusCodec, webrtc.RTPCodecTypeAudio, holSSRCB)
	f.rA.p.InlineFanOut, f.rB.p.InlineFanOut = inline, inline
	tb.Cleanup(f.rA.Close)
	tb.Cleanup(f.rB.Close)
	for i := range subsA {
		directDownTrack(tb, f.rA, webrtc.SSRC(10_000+i), sock, sinkA, testKeys(), bwe.New(3_000_000, bwe.MinEstimate, 20_000_000))
	}
	for i := range subsB {
		directDownTrack(tb, f.rB, webrtc.SSRC(20_000+i), sock, f.sinkBConn, testKeys(), bwe.New(3_000_000, bwe.MinEstimate, 20_000_000))
	}
	return f
}

// holPublisher is a publisher connection whose one layer Podium's read path has, from pub.
func holPublisher(tb testing.TB, routes *fastpath.Routes, sock *udpsock.Socket, pub *net.UDPConn, c webrtc.RTPCodecParameters, kind webrtc.RTPCodecType, ssrc uint32) (*Receiver, *srtp.Context) {
	tb.Helper()
	keys := testKeys()
	keys.RemoteKey, keys.RemoteSalt = bytes.Repeat([]byte{3}, 16), bytes.Repeat([]byte{5}, 12)
	up := feedback.New()
	up.AddStream(ssrc, c.ClockRate, 0)
	tr := fastpath.New(fastpath.Params{Routes: routes, Feedback: up})
	tr.Own(keys, sock, pub.LocalAddr().(*net.UDPAddr).AddrPort())
	r := testReceiver(c, kind, nil, 0)
	r.p.Transport = tr
	l := r.layers[0].Load()
	l.ssrc = ssrc
	tr.AddLayer(ssrc, l)
	l.ownPath.Store(true)
	enc, err := srtp.CreateContext(keys.RemoteKey, keys.RemoteSalt, keys.Profile)
	if err != nil {
		tb.Fatal(err)
	}
	return r, enc
}

// vp8Keyframe720 is the first keyframe of the 1280x720 fixture in RTP payloads of at most
// size bytes (33 kB: 31 packets of 1,100 bytes).
func vp8Keyframe720(tb testing.TB, size uint16) [][]byte {
	tb.Helper()
	r, _, err := ivfreader.NewWith(bytes.NewReader(testmedia.VP8(1280)))
	if err != nil {
		tb.Fatal(err)
	}
	frame, _, err := r.ParseNextFrame()
	if err != nil {
		tb.Fatal(err)
	}
	return (&rtpcodecs.VP8Payloader{EnablePictureID: true}).Payload(size, frame)
}

// opusPayload is the first Opus packet of the fixture.
func opusPayload(tb testing.TB) []byte {
	tb.Helper()
	r, _, err := oggreader.NewWith(bytes.NewReader(testmedia.Opus()))
	if err != nil {
		tb.Fatal(err)
	}
	for {
		payload, hdr, err := r.ParseNextPage()
		if err != nil {
			tb.Fatal(err)
		}
		if _, isHeader := hdr.HeaderType(payload); !isHeader && len(payload) > 0 {
			return payload
		}
	}
}

// send encrypts one packet as a publisher and sends it to the server's socket.
func (f *holFixture) send(tb testing.TB, from *net.UDPConn, enc *srtp.Context, h *rtp.Header, payload []byte) {
	n, err := h.MarshalTo(f.plain)
	if err != nil {
		tb.Fatal(err)
	}
	n += copy(f.plain[n:], payload)
	out, err := enc.EncryptRTP(f.wire[:0], f.plain[:n], &f.encHeader)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := from.WriteToUDPAddrPort(out, f.server); err != nil {
		tb.Fatal(err)
	}
}

// keyframeRound sends A's keyframe with B's packet right after its first after packets, as the
// socket then holds them, reads them all through Podium's read path, and returns how long B's
// packet took from its arrival at the server's socket until the last of its fan-out was sent
// (arrived at B's sink).
func (f *holFixture) keyframeRound(tb testing.TB, after int) time.Duration {
	hA := rtp.Header{Version: 2, PayloadType: 96, SSRC: holSSRCA, Timestamp: f.tsA}
	hB := rtp.Header{Version: 2, PayloadType: 111, SSRC: holSSRCB, Timestamp: f.tsB}
	var arrivedB int64
	for i, payload := range f.keyframe {
		hA.SequenceNumber, hA.Marker = f.seqA, i == len(f.keyframe)-1
		f.send(tb, f.pubA, f.encA, &hA, payload)
		f.seqA++
		if i == after-1 {
			hB.SequenceNumber = f.seqB
			f.send(tb, f.pubB, f.encB, &hB, f.opus)
			arrivedB = time.Now().UnixNano() // loopback: in the server's socket once sent
			f.seqB++
		}
	}
	f.tsA += 3000 * 90 // a keyframe every 3 s
	f.tsB += 960
	if _, err := f.pubA.WriteToUDPAddrPort(stunBinding, f.server); err != nil {
		tb.Fatal(err)
	}
	f.readUntilSTUN(tb)
	waitFanOut(f.rA)
	waitFanOut(f.rB)
	return time.Duration(f.lastAtSinkB(tb) - arrivedB)
}

// readUntilSTUN runs the socket's reader, as the engine's does, until it returns the STUN
// message: everything before it was taken and forwarded.
func (f *holFixture) readUntilSTUN(tb testing.TB) {
	buf := f.plain[:cap(f.plain)]
	_ = f.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, _, err := f.conn.ReadFromAddrPort(buf)
	if err != nil || !bytes.Equal(buf[:n], stunBinding) {
		tb.Fatalf("the reader returned %d bytes (%v), want the STUN message after the media", n, err)
	}
}

// lastAtSinkB reads B's fan-out from its sink and returns when its last datagram arrived.
func (f *holFixture) lastAtSinkB(tb testing.TB) int64 {
	var last int64
	_ = f.sinkBConn.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := f.plain[:cap(f.plain)]
	for range f.rB.DownTrackCount() {
		_, _, at, err := f.sinkB.Read(buf)
		if err != nil {
			tb.Fatal(err)
		}
		last = max(last, at)
	}
	return last
}

// BenchmarkHeadOfLine measures the delay issue 16 names: a 720p VP8 keyframe (31 packets of
// 1,100 bytes, real) fans out to 400 subscribers, and publisher B's Opus packet arrives on the
// same socket right after the keyframe's first packet (after=1: the keyframe is paced) or after
// its last (after=31: it came as one burst); p50/p99 of the time from B's arrival until its
// own fan-out (to 10 subscribers: a small meeting on the same port, or to 400: a second
// speaker in the same room) has been sent, over b.N keyframes. writers=false is the fan-out
// on the reader (InlineFanOut -1), writers=true the default: writers above DefaultInlineFanOut down tracks.
func BenchmarkHeadOfLine(b *testing.B) {
	for _, c := range []struct{ subsA, subsB, after int }{{400, 10, 1}, {400, 10, 31}, {400, 400, 1}} {
		for _, writers := range []bool{false, true} {
			b.Run(fmt.Sprintf("A=%d/B=%d/after=%d/writers=%v", c.subsA, c.subsB, c.after, writers), func(b *testing.B) {
				inline := -1
				if writers {
					inline = DefaultInlineFanOut
				}
				benchmarkHeadOfLine(b, c.subsA, c.subsB, c.after, inline)
			})
		}
	}
}

func benchmarkHeadOfLine(b *testing.B, subsA, subsB, after, inline int) {
	f := newHOLFixture(b, subsA, subsB, inline)
	if after > len(f.keyframe) {
		b.Fatalf("the keyframe has %d packets", len(f.keyframe))
	}
	f.keyframeRound(b, after) // SRTP contexts, estimators' first growth
	delays := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		delays = append(delays, f.keyframeRound(b, after))
	}
	b.StopTimer()
	slices.Sort(delays)
	ms := func(q float64) float64 {
		return float64(delays[min(int(q*float64(len(delays))), len(delays)-1)]) / 1e6
	}
	b.ReportMetric(ms(0.5), "p50-ms")
	b.ReportMetric(ms(0.99), "p99-ms")
	b.ReportMetric(float64(delays[len(delays)-1])/1e6, "max-ms")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*(subsA*len(f.keyframe)+subsB)), "us/sent")
}

// waitFanOut returns once r's fan-out of what its layers' readers forwarded has been sent.
func waitFanOut(r *Receiver) { r.pool.Drain() }
