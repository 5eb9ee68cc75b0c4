package arrivals

import (
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
)

// feedbackLog collects the transport-wide feedback a fake server receives.
type feedbackLog struct {
	mu       sync.Mutex
	arrivals []int64 // µs, in the receiver's clock, of every packet reported received
}

func (l *feedbackLog) add(p rtcp.Packet) {
	cc, ok := p.(*rtcp.TransportLayerCC)
	if !ok {
		return
	}
	at := int64(cc.ReferenceTime) * 64000
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, d := range cc.RecvDeltas {
		at += d.Delta
		l.arrivals = append(l.arrivals, at)
	}
}

func twccPacket(t testing.TB, id uint8, seq uint16) []byte {
	t.Helper()
	h := rtp.Header{Version: 2, PayloadType: 96, SSRC: 7, SequenceNumber: seq}
	if err := h.SetExtension(id, []byte{byte(seq >> 8), byte(seq)}); err != nil {
		t.Fatal(err)
	}
	b, err := (&rtp.Packet{Header: h, Payload: []byte{1}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestArrivalsStampAtTheSocketElseAtTheRead: packets are recorded with the id the offer
// negotiated; stamps at track reads count only until a socket has stamped (a TURN relay's
// socket carries wrapped packets it cannot read).
func TestArrivalsStampAtTheSocketElseAtTheRead(t *testing.T) {
	a := New()
	a.arrived(twccPacket(t, 5, 1), time.Now())
	if pkts := a.report(); pkts != nil {
		t.Fatalf("recorded before the extension was negotiated: %v", pkts)
	}
	a.Negotiated("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n" +
		"a=extmap:2 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\r\na=extmap:5 " + sdp.TransportCCURI + "\r\n")
	if got := a.extID.Load(); got != 5 {
		t.Fatalf("negotiated id %d, want 5", got)
	}

	a.read(twccPacket(t, 5, 1)) // no socket stamps yet: the read counts
	if got := received(a.report()); got != 1 {
		t.Fatalf("a read before any socket stamp: %d received, want 1", got)
	}
	a.arrived(twccPacket(t, 5, 2), time.Now())
	a.read(twccPacket(t, 5, 3)) // the sockets stamp now: a read does not
	if got := received(a.report()); got != 1 {
		t.Fatalf("after a socket stamp: %d newly received, want 1 (the socket's)", got)
	}
	a.lastSocket.Store(time.Now().Add(-time.Second).UnixNano()) // the path moved to a relay
	a.read(twccPacket(t, 5, 4))
	if got := received(a.report()); got != 1 {
		t.Fatalf("a second without socket stamps: %d newly received at the read, want 1", got)
	}
	a.arrived(twccPacket(t, 3, 5), time.Now()) // another extension id: not a transport-wide number
	a.arrived([]byte{0x80, 201, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0}, time.Now())
	if pkts := a.report(); pkts != nil {
		t.Fatalf("recorded a packet without the extension, or RTCP: %v", pkts)
	}
}

func received(pkts []rtcp.Packet) int {
	n := 0
	for _, p := range pkts {
		if cc, ok := p.(*rtcp.TransportLayerCC); ok {
			n += len(cc.RecvDeltas)
		}
	}
	return n
}

// TestArrivalIsTheKernelsTime: a packet read 200 ms after it came is reported at the time it
// came, not at the read: the kernel's time of arrival, where the system gives one.
func TestArrivalIsTheKernelsTime(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("times of arrival from the kernel are asked for on Linux only")
	}
	a := New()
	a.extID.Store(5)
	host, err := stdnet.NewNet()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := stampNet{Net: host, a: a}.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rc, ok := conn.(ice.AddrPortReaderWriter) // what pion's ICE reads with
	if !ok {
		t.Fatalf("%T does not keep pion's allocation-free read", conn)
	}
	peer, err := net.DialUDP("udp4", nil, conn.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	buf := make([]byte, 1500)
	// The kernel turns stamping on in deferred work: what comes first may be stamped at the
	// read. A warm-up that is not RTP, so nothing is recorded.
	if _, err := peer.Write([]byte("warm-up")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(30 * time.Millisecond)
	if _, _, err := rc.ReadFromAddrPort(buf); err != nil {
		t.Fatal(err)
	}
	sent := time.Since(a.epoch)
	if _, err := peer.Write(twccPacket(t, 5, 1)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if _, _, err := rc.ReadFromAddrPort(buf); err != nil {
		t.Fatal(err)
	}
	var fb feedbackLog
	for _, p := range a.report() {
		fb.add(p)
	}
	if len(fb.arrivals) != 1 {
		t.Fatalf("%d packets reported, want 1", len(fb.arrivals))
	}
	at := time.Duration(fb.arrivals[0]) * time.Microsecond
	if d := at - sent; d < -5*time.Millisecond || d > 50*time.Millisecond {
		t.Errorf("reported %v after sending; the read was 200 ms after", d)
	}
}

// FuzzArrivals: whatever datagrams the socket returns, recording them and building the
// feedback never panics, and the feedback marshals.
func FuzzArrivals(f *testing.F) {
	f.Add(twccPacket(f, 5, 1), twccPacket(f, 5, 0xffff))
	f.Add([]byte{0x90, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 7, 0xbe, 0xde, 0, 1, 0x51, 0, 9, 0}, []byte{0x80, 201, 0, 1})
	f.Fuzz(func(t *testing.T, a, b []byte) {
		arr := New()
		arr.extID.Store(5)
		for _, d := range [][]byte{a, b, a} {
			arr.arrived(d, time.Now())
			arr.read(d)
		}
		for _, p := range arr.report() {
			if _, err := p.Marshal(); err != nil {
				t.Fatalf("feedback does not marshal: %v", err)
			}
		}
	})
}

// opaqueNet hands out UDP sockets that are not *net.UDPConn, as a virtual network does.
type opaqueNet struct{ transport.Net }

type opaqueConn struct{ transport.UDPConn }

func (n opaqueNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	return opaqueConn{c}, err
}

// TestArrivalsOnEverySocketKind: the sockets of other networks, and those ICE opens with
// ListenPacket (server-reflexive candidates), stamp what ReadFrom returns.
func TestArrivalsOnEverySocketKind(t *testing.T) {
	host, err := stdnet.NewNet()
	if err != nil {
		t.Fatal(err)
	}
	loop := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}
	for _, c := range []struct {
		name   string
		listen func(n stampNet) (net.PacketConn, error)
	}{
		{"another network's UDP socket", func(n stampNet) (net.PacketConn, error) { return n.ListenUDP("udp4", loop) }},
		{"ListenPacket", func(n stampNet) (net.PacketConn, error) { return n.ListenPacket("udp4", "127.0.0.1:0") }},
	} {
		a := New()
		a.extID.Store(5)
		conn, err := c.listen(stampNet{Net: opaqueNet{host}, a: a})
		if err != nil {
			t.Fatal(err)
		}
		peer, err := net.DialUDP("udp4", nil, conn.LocalAddr().(*net.UDPAddr))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := peer.Write(twccPacket(t, 5, 1)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 1500)
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, _, err := conn.ReadFrom(buf); err != nil {
			t.Fatal(err)
		}
		if got := received(a.report()); got != 1 {
			t.Errorf("%s: %d packets recorded, want 1", c.name, got)
		}
		_ = peer.Close()
		_ = conn.Close()
	}
}

// knownArrivals is a socket that knows when its datagrams arrived: it says 300 ms earlier
// than the read.
type knownArrivals struct{ opaqueConn }

func (c knownArrivals) ReadFromArrival(b []byte) (int, net.Addr, time.Time, error) {
	n, addr, err := c.UDPConn.ReadFrom(b)
	return n, addr, time.Now().Add(-300 * time.Millisecond), err
}

type knownNet struct{ transport.Net }

func (n knownNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	return knownArrivals{opaqueConn{c}}, err
}

// TestArrivalReaderTimeIsStamped: a socket's own time of arrival (a simulated link's) is what
// the feedback reports, not the time of the read.
func TestArrivalReaderTimeIsStamped(t *testing.T) {
	host, err := stdnet.NewNet()
	if err != nil {
		t.Fatal(err)
	}
	a := New()
	a.extID.Store(5)
	conn, err := stampNet{Net: knownNet{host}, a: a}.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	peer, err := net.DialUDP("udp4", nil, conn.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	time.Sleep(400 * time.Millisecond) // an arrival before the recorder's epoch is not a time
	if _, err := peer.Write(twccPacket(t, 5, 1)); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	read := time.Since(a.epoch)
	if _, _, err := conn.ReadFrom(make([]byte, 1500)); err != nil {
		t.Fatal(err)
	}
	var fb feedbackLog
	for _, p := range a.report() {
		fb.add(p)
	}
	if len(fb.arrivals) != 1 {
		t.Fatalf("%d packets reported, want 1", len(fb.arrivals))
	}
	// The feedback's reference time has 64 ms steps and its deltas 250 µs: compare loosely.
	at := time.Duration(fb.arrivals[0]) * time.Microsecond
	if d := read - at; d < 250*time.Millisecond || d > 400*time.Millisecond {
		t.Errorf("reported %v before the read, want the socket's 300 ms", d)
	}
}
