// Package arrivals is the transport-wide congestion feedback of the Go SDK's subscriber
// connection, stamped when each packet arrives at its socket rather than when the application
// reads its track.
package arrivals

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtcp"
	"github.com/pion/sdp/v3"
	"github.com/pion/transport/v5"
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/internal/arrival"
	"github.com/podium-sfu/podium/internal/rtpext"
)

// feedbackInterval is how often the subscriber connection reports arrivals, as pion's
// interceptor and Chromium (50–250 ms, by bitrate) do.
const feedbackInterval = 100 * time.Millisecond

// readStampAfter is how long without a packet stamped at a socket before packets are stamped
// as their tracks are read: longer than a late read of a busy receiver, shorter than a gap an
// estimator would take for an outage.
const readStampAfter = 500 * time.Millisecond

// Recorder is the transport-wide congestion feedback of a subscriber connection, stamped when
// the packet arrives rather than when the application reads its track.
//
// pion's feedback interceptor stamps a packet as its track is read. A busy process reads its
// tracks late and in another order than the packets came: the server's bandwidth estimator then
// sees queueing that is not on the path, and losses of packets that are only waiting in another
// track's buffer. A browser stamps in its network thread. Here the socket reader that ICE runs
// records each packet with the kernel's time of arrival (SO_TIMESTAMPNS, on Linux; elsewhere the
// time of the read), so that even a late socket read keeps the path's timing. Where the
// socket's datagrams are not the packets themselves (a TURN relay wraps them), packets are
// stamped as their tracks are read, as pion does: whenever no socket has stamped a packet for
// readStampAfter, so that a path that moves to a relay mid-call keeps its feedback.
type Recorder struct {
	extID      atomic.Uint32 // the negotiated transport-wide sequence number extension; 0: none yet
	lastSocket atomic.Int64  // unix ns when a socket last stamped a packet; 0: never
	epoch      time.Time

	mu   sync.Mutex
	rec  *twcc.Recorder
	held int // packets recorded since the last report
}

// New returns a recorder; it records nothing until Negotiated finds the extension.
func New() *Recorder {
	return &Recorder{epoch: time.Now(), rec: twcc.NewRecorder(rand.Uint32())}
}

// Negotiated takes the extension's id from a remote description.
func (a *Recorder) Negotiated(desc string) {
	var sd sdp.SessionDescription
	if sd.UnmarshalString(desc) != nil {
		return
	}
	for _, m := range sd.MediaDescriptions {
		for _, attr := range m.Attributes {
			if attr.Key != sdp.AttrKeyExtMap {
				continue
			}
			var e sdp.ExtMap
			if e.Unmarshal("extmap:"+attr.Value) != nil || e.URI == nil {
				continue
			}
			if e.URI.String() == sdp.TransportCCURI && e.Value > 0 && e.Value < 256 {
				a.extID.Store(uint32(e.Value))
				return
			}
		}
	}
}

// arrived records a datagram a socket returned, which arrived at at, if it is RTP with a
// transport-wide sequence number (its header is not encrypted).
func (a *Recorder) arrived(b []byte, at time.Time) {
	if a.record(b, at) {
		a.lastSocket.Store(time.Now().UnixNano())
	}
}

// read records a packet as its track reads it, unless the sockets stamp (a packet reaches its
// socket before its track: the socket's stamp of it came first).
func (a *Recorder) read(b []byte) {
	now := time.Now()
	if now.UnixNano()-a.lastSocket.Load() > int64(readStampAfter) {
		a.record(b, now)
	}
}

func (a *Recorder) record(b []byte, at time.Time) bool {
	id := a.extID.Load()
	if id == 0 || !rtpext.IsRTP(b) {
		return false
	}
	ext := rtpext.Find(b, uint8(id))
	if len(ext) < 2 {
		return false
	}
	us := at.Sub(a.epoch).Microseconds() // a kernel's time has no monotonic reading: wall clocks
	a.mu.Lock()
	a.rec.Record(binary.BigEndian.Uint32(b[8:12]), binary.BigEndian.Uint16(ext), us)
	a.held++
	a.mu.Unlock()
	return true
}

// report builds the feedback for what arrived since the last one; nil when nothing did.
func (a *Recorder) report() []rtcp.Packet {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.held == 0 {
		return nil
	}
	a.held = 0
	return a.rec.BuildFeedbackPacket()
}

// Run sends the feedback on pc every feedbackInterval until ctx ends.
func (a *Recorder) Run(ctx context.Context, pc *webrtc.PeerConnection) {
	t := time.NewTicker(feedbackInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if pkts := a.report(); len(pkts) > 0 {
			_ = pc.WriteRTCP(pkts) // fails only once the connection is closed
		}
	}
}

// NewInterceptor gives pion a reader of remote streams that stamps packets at track reads.
func (a *Recorder) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &readStamp{a: a}, nil
}

type readStamp struct {
	interceptor.NoOp
	a *Recorder
}

func (r *readStamp) BindRemoteStream(_ *interceptor.StreamInfo, reader interceptor.RTPReader,
) interceptor.RTPReader {
	return interceptor.RTPReaderFunc(func(b []byte, attrs interceptor.Attributes,
	) (int, interceptor.Attributes, error) {
		n, attrs, err := reader.Read(b, attrs)
		if err == nil {
			r.a.read(b[:n])
		}
		return n, attrs, err
	})
}

// Net is n for a subscriber connection: each UDP socket pion opens on it records arrivals as
// it is read (see stampNet).
func (a *Recorder) Net(n transport.Net) transport.Net { return stampNet{Net: n, a: a} }

// stampNet is the network of a subscriber connection: each UDP socket pion opens on it
// records arrivals as it is read. pion's ICE reads a socket with ReadFromAddrPort when the
// socket has it, else with ReadFrom; those are the methods that stamp.
type stampNet struct {
	transport.Net
	a *Recorder
}

func (n stampNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	if ar, ok := c.(ArrivalReader); ok {
		return arrivalConn{UDPConn: c, ar: ar, a: n.a}, nil
	}
	if udp, ok := c.(*net.UDPConn); ok {
		s := stampedUDPConn{UDPConn: udp, a: n.a}
		if raw, err := udp.SyscallConn(); err == nil && arrival.Stamp(raw) {
			s.oob = new([128]byte)
		}
		return s, nil
	}
	return stampedConn{UDPConn: c, a: n.a}, nil
}

func (n stampNet) ListenPacket(network, address string) (net.PacketConn, error) {
	c, err := n.Net.ListenPacket(network, address)
	if err != nil {
		return nil, err
	}
	return stampedPacketConn{PacketConn: c, a: n.a}, nil
}

// stampedUDPConn is a host socket. It keeps pion's allocation-free AddrPort path.
type stampedUDPConn struct {
	*net.UDPConn
	a   *Recorder
	oob *[128]byte // for the kernel's time of arrival; nil: none. One reader: ICE's
}

func (c stampedUDPConn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	if c.oob == nil {
		n, addr, err := c.UDPConn.ReadFromUDPAddrPort(b)
		if err == nil {
			c.a.arrived(b[:n], time.Now())
		}
		return n, addr, err
	}
	n, oobn, _, addr, err := c.UDPConn.ReadMsgUDPAddrPort(b, c.oob[:])
	if err == nil {
		at := time.Now()
		if ns, ok := arrival.Read(c.oob[:oobn]); ok {
			at = time.Unix(0, ns)
		}
		c.a.arrived(b[:n], at)
	}
	return n, addr, err
}

func (c stampedUDPConn) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	return c.UDPConn.WriteToUDPAddrPort(b, addr)
}

func (c stampedUDPConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, err := c.ReadFromAddrPort(b)
	if err != nil {
		return n, nil, err
	}
	return n, net.UDPAddrFromAddrPort(addr), nil
}

// ArrivalReader is a socket that knows when each datagram arrived better than the time of its
// read: a simulated link (the load generator's capped downlink) gives the time the datagram
// left it, which a late read must not move.
type ArrivalReader interface {
	ReadFromArrival(b []byte) (int, net.Addr, time.Time, error)
}

// arrivalConn stamps what an ArrivalReader says.
type arrivalConn struct {
	transport.UDPConn
	ar ArrivalReader
	a  *Recorder
}

func (c arrivalConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, at, err := c.ar.ReadFromArrival(b)
	if err == nil {
		c.a.arrived(b[:n], at)
	}
	return n, addr, err
}

// stampedConn is a UDP socket of another network (a virtual one in tests).
type stampedConn struct {
	transport.UDPConn
	a *Recorder
}

func (c stampedConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, err := c.UDPConn.ReadFrom(b)
	if err == nil {
		c.a.arrived(b[:n], time.Now())
	}
	return n, addr, err
}

// stampedPacketConn is a socket ICE opens for server-reflexive and relayed candidates.
type stampedPacketConn struct {
	net.PacketConn
	a *Recorder
}

func (c stampedPacketConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, err := c.PacketConn.ReadFrom(b)
	if err == nil {
		c.a.arrived(b[:n], time.Now())
	}
	return n, addr, err
}
