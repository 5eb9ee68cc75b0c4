package sfu

import (
	"bytes"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/internal/rtpext"
	"github.com/podium-sfu/podium/sfu/fastpath"
	"github.com/podium-sfu/podium/sfu/rewrite"
)

// A subscriber connection of a real engine and a real pion peer answering it: the forward path
// as a client meets it, with everything that reaches the client's socket on record.

// datagramLog is a client's socket that keeps a copy of every RTP packet it receives, as it
// arrived (still encrypted).
// While blocked, nothing comes in or goes out.
type datagramLog struct {
	net.PacketConn
	blocked atomic.Bool
	mu      sync.Mutex
	rtp     [][]byte
}

func (c *datagramLog) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(b)
		if err != nil || !c.blocked.Load() {
			if err == nil {
				c.add(b[:n])
			}
			return n, addr, err
		}
	}
}

func (c *datagramLog) WriteTo(b []byte, addr net.Addr) (int, error) {
	if c.blocked.Load() {
		return len(b), nil
	}
	return c.PacketConn.WriteTo(b, addr)
}

// add records a packet seen elsewhere (a virtual network's router).
func (c *datagramLog) add(b []byte) {
	if len(b) >= 12 && b[0]>>6 == 2 && !rtpext.IsRTCP(b) {
		c.mu.Lock()
		c.rtp = append(c.rtp, bytes.Clone(b))
		c.mu.Unlock()
	}
}

func (c *datagramLog) packets() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]byte(nil), c.rtp...)
}

func (c *datagramLog) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.rtp)
}

// testPeer is the client: a pion peer connection with no interceptors (so no NACKs, which would
// make the server resend a packet, index and all, on purpose) that records what its tracks
// decrypt.
type testPeer struct {
	pc   *webrtc.PeerConnection
	log  *datagramLog // nil when the peer's network is not a plain socket
	mu   sync.Mutex
	got  []rtp.Packet
	done sync.WaitGroup // the track readers
}

// peerSettings is a client on loopback, UDP on one socket Podium's tests can watch.
func peerSettings(t testing.TB) (webrtc.SettingEngine, *datagramLog) {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	log := &datagramLog{PacketConn: conn}
	var se webrtc.SettingEngine
	mux := webrtc.NewICEUDPMux(nil, log)
	t.Cleanup(func() { _ = mux.Close() })
	se.SetICEUDPMux(mux)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	return se, log
}

func newTestPeer(t testing.TB, se webrtc.SettingEngine, log *datagramLog) *testPeer {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	p := &testPeer{pc: pc, log: log}
	pc.OnTrack(func(track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		p.done.Add(1)
		defer p.done.Done()
		for {
			pkt, _, err := track.ReadRTP()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.got = append(p.got, *pkt)
			p.mu.Unlock()
		}
	})
	t.Cleanup(func() {
		_ = pc.Close()
		p.done.Wait()
	})
	return p
}

func (p *testPeer) received() []rtp.Packet {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]rtp.Packet(nil), p.got...)
}

// negotiate has the server's connection offer and the peer answer, each with every candidate.
func negotiate(t testing.TB, server, peer *webrtc.PeerConnection) { renegotiate(t, server, peer, nil) }

// renegotiate is negotiate with offer options (an ICE restart).
func renegotiate(t testing.TB, server, peer *webrtc.PeerConnection, opts *webrtc.OfferOptions) {
	t.Helper()
	offer, err := server.CreateOffer(opts)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(server)
	if err := server.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	if err := peer.SetRemoteDescription(*server.LocalDescription()); err != nil {
		t.Fatal(err)
	}
	answer, err := peer.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered = webrtc.GatheringCompletePromise(peer)
	if err := peer.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	if err := server.SetRemoteDescription(*peer.LocalDescription()); err != nil {
		t.Fatal(err)
	}
}

// waitUntil polls cond until it holds or the timeout passes.
func waitUntil(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// subscriberSetup is an engine's subscriber connection with one VP8 down track on it (fed by a
// test receiver), answered by a peer.
type subscriberSetup struct {
	e    *Engine
	pc   *webrtc.PeerConnection
	tr   *fastpath.Transport
	r    *Receiver
	d    *DownTrack
	peer *testPeer

	padded int // padding packets sent
}

// newSubscriberSetup connects them; the down track numbers from firstSeq.
func newSubscriberSetup(t testing.TB, cfg Config, se webrtc.SettingEngine, log *datagramLog, firstSeq uint16) *subscriberSetup {
	t.Helper()
	e, err := NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	pc, tr, err := e.NewSubscriberConnection()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	s := &subscriberSetup{e: e, pc: pc, tr: tr, peer: newTestPeer(t, se, log)}
	s.r = testReceiver(vp8Codec, webrtc.RTPCodecTypeVideo, nil, 0)
	s.d = NewDownTrack(s.r, DownTrackParams{TrackID: "TR_x", StreamID: "PA_x", Transport: tr})
	s.d.munger = rewrite.New(firstSeq, 1000) // where the numbering wraps is the test's choice
	if _, err := pc.AddTransceiverFromTrack(s.d, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		t.Fatal(err)
	}
	negotiate(t, pc, s.peer.pc)
	s.r.AddDownTrack(s.d)
	waitUntil(t, 10*time.Second, "DTLS to connect", func() bool {
		return pc.SCTP().Transport().State() == webrtc.DTLSTransportStateConnected
	})
	return s
}

// source numbers what the test publishes: one packet per frame.
type source struct {
	seq uint16
	ts  uint32
}

// frames feeds n frames, the first a keyframe when key is set, and waits until the peer's socket
// got as many packets as the down track says it sent (what it held back it did not send).
func (s *subscriberSetup) frames(t testing.TB, src *source, n int, key bool) {
	t.Helper()
	for i := range n {
		payload := vp8Delta
		if key && i == 0 {
			payload = vp8Key
		}
		feed(s.r, marshal(src.seq, src.ts, true, payload))
		src.seq++
		src.ts += 3000
		if i%100 == 99 || i == n-1 {
			s.settle(t)
		}
	}
}

// padding sends n padding-only packets (probes), 100 at a time, and waits as frames does.
func (s *subscriberSetup) padding(t testing.TB, n int) {
	t.Helper()
	for n > 0 {
		k := min(n, 100)
		s.padded += s.d.SendPadding(k) / ((12 + 255) * 8)
		n -= k
		s.settle(t)
	}
}

// settle waits until everything the down track sent reached the peer's socket.
func (s *subscriberSetup) settle(t testing.TB) {
	t.Helper()
	if s.peer.log == nil {
		return
	}
	waitUntil(t, 10*time.Second, "the peer's socket to get what was sent", func() bool {
		return uint64(s.peer.log.count()) >= s.d.Stats().Packets+uint64(s.padded)
	})
}
