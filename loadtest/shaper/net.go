package shaper

import (
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
)

// maxQueued bounds the datagrams a socket holds for its link. The link's byte bound drops
// first in practice (150 ms at 2.5 Mbps is under 400 small audio datagrams); this is the
// backstop that keeps the memory bounded whatever the link's shape.
const maxQueued = 1024

// Net is inner (nil: the host's network) whose UDP sockets deliver what they receive through link: each datagram is
// read from the socket as it arrives, admitted by the link (or dropped), and handed to the
// reader when the link lets it out. Writes are not shaped. pion's ICE reads a socket that is
// not a *net.UDPConn with ReadFrom: that is the method that waits for the link.
func Net(inner transport.Net, link *Link) (transport.Net, error) {
	if inner == nil {
		host, err := stdnet.NewNet()
		if err != nil {
			return nil, err
		}
		inner = host
	}
	return shapedNet{Net: inner, link: link}, nil
}

type shapedNet struct {
	transport.Net
	link *Link
}

func (n shapedNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	return &udpConn{UDPConn: c, r: newReader(c, n.link)}, nil
}

func (n shapedNet) ListenPacket(network, address string) (net.PacketConn, error) {
	c, err := n.Net.ListenPacket(network, address)
	if err != nil {
		return nil, err
	}
	return &packetConn{PacketConn: c, r: newReader(c, n.link)}, nil
}

// udpConn is a shaped transport.UDPConn: every read method takes from the link.
type udpConn struct {
	transport.UDPConn
	r *reader
}

func (c *udpConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, _, err := c.r.readFrom(b)
	return n, addr, err
}

// ReadFromArrival is ReadFrom with the time the datagram left the link: its arrival at the
// client, which a late read does not move (the Go SDK's congestion feedback stamps it, as it
// stamps a host socket's datagrams with the kernel's time).
func (c *udpConn) ReadFromArrival(b []byte) (int, net.Addr, time.Time, error) {
	return c.r.readFrom(b)
}

func (c *udpConn) Read(b []byte) (int, error) {
	n, _, _, err := c.r.readFrom(b)
	return n, err
}

func (c *udpConn) ReadFromUDP(b []byte) (int, *net.UDPAddr, error) {
	n, addr, _, err := c.r.readFrom(b)
	a, _ := addr.(*net.UDPAddr)
	return n, a, err
}

func (c *udpConn) ReadMsgUDP(b, _ []byte) (n, oobn, flags int, addr *net.UDPAddr, err error) {
	n, addr, err = c.ReadFromUDP(b)
	return n, 0, 0, addr, err
}

func (c *udpConn) SetDeadline(t time.Time) error {
	c.r.setReadDeadline(t)
	return c.UDPConn.SetWriteDeadline(t)
}
func (c *udpConn) SetReadDeadline(t time.Time) error { c.r.setReadDeadline(t); return nil }
func (c *udpConn) Close() error                      { return c.r.close() }

// packetConn is a shaped net.PacketConn (ICE's server-reflexive and relayed candidates).
type packetConn struct {
	net.PacketConn
	r *reader
}

func (c *packetConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, _, err := c.r.readFrom(b)
	return n, addr, err
}
func (c *packetConn) SetDeadline(t time.Time) error {
	c.r.setReadDeadline(t)
	return c.PacketConn.SetWriteDeadline(t)
}
func (c *packetConn) SetReadDeadline(t time.Time) error { c.r.setReadDeadline(t); return nil }
func (c *packetConn) Close() error                      { return c.r.close() }

// datagram is one received datagram waiting for its time to leave the link.
type datagram struct {
	buf   *[]byte
	n     int
	addr  net.Addr
	leave time.Time
}

// reader owns one socket's reading goroutine (the link's arrival side) and hands datagrams to
// the one caller of readFrom (ICE's receive loop) at their time.
type reader struct {
	src  net.PacketConn
	link *Link
	q    chan datagram
	err  error // why the socket stopped; written before q is closed
	done chan struct{}
	wg   sync.WaitGroup
	once sync.Once

	deadline atomic.Int64  // read deadline, unix ns; 0: none
	kick     chan struct{} // a new deadline for a blocked readFrom

	readMu sync.Mutex  // one readFrom at a time: they share wait
	wait   *time.Timer // until the head datagram may leave
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 1500); return &b }}

func newReader(src net.PacketConn, link *Link) *reader {
	r := &reader{src: src, link: link, q: make(chan datagram, maxQueued), done: make(chan struct{}),
		kick: make(chan struct{}, 1), wait: time.NewTimer(time.Hour)}
	r.wait.Stop()
	r.wg.Add(1)
	go r.run() // the socket's one reader, until close closes the socket
	return r
}

func (r *reader) run() {
	defer r.wg.Done()
	defer close(r.q)
	scratch := make([]byte, 64<<10)
	for {
		n, addr, err := r.src.ReadFrom(scratch)
		if err != nil {
			r.err = err
			return
		}
		leave, ok := r.link.Admit(time.Now(), n)
		if !ok {
			continue
		}
		bp := bufPool.Get().(*[]byte)
		if cap(*bp) < n {
			*bp = make([]byte, n)
		}
		*bp = (*bp)[:n]
		copy(*bp, scratch[:n])
		select {
		case r.q <- datagram{buf: bp, n: n, addr: addr, leave: leave}:
		default: // over maxQueued: lost like the link's own drops
			bufPool.Put(bp)
		}
	}
}

func (r *reader) setReadDeadline(t time.Time) {
	var ns int64
	if !t.IsZero() {
		ns = t.UnixNano()
	}
	r.deadline.Store(ns)
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// readFrom returns the next datagram once the link lets it out, and when that was.
func (r *reader) readFrom(b []byte) (int, net.Addr, time.Time, error) {
	r.readMu.Lock()
	defer r.readMu.Unlock()
	for {
		var expired <-chan time.Time
		var t *time.Timer
		if dl := r.deadline.Load(); dl != 0 {
			wait := time.Until(time.Unix(0, dl))
			if wait <= 0 {
				return 0, nil, time.Time{}, os.ErrDeadlineExceeded
			}
			t = time.NewTimer(wait) // only while a deadline is set: pion sets one to abort
			expired = t.C
		}
		select {
		case d, ok := <-r.q:
			stop(t)
			if !ok {
				return 0, nil, time.Time{}, r.err
			}
			if err := r.hold(d.leave); err != nil {
				bufPool.Put(d.buf)
				return 0, nil, time.Time{}, err
			}
			n := copy(b, (*d.buf)[:d.n])
			bufPool.Put(d.buf)
			return n, d.addr, d.leave, nil
		case <-r.done:
			stop(t)
			return 0, nil, time.Time{}, net.ErrClosed
		case <-expired:
			return 0, nil, time.Time{}, os.ErrDeadlineExceeded
		case <-r.kick:
			stop(t)
		}
	}
}

func stop(t *time.Timer) {
	if t != nil {
		t.Stop()
	}
}

// hold waits until leave, unless the socket closes first.
func (r *reader) hold(leave time.Time) error {
	wait := time.Until(leave)
	if wait <= 0 {
		return nil
	}
	r.wait.Reset(wait)
	select {
	case <-r.wait.C:
		return nil
	case <-r.done:
		r.wait.Stop()
		return net.ErrClosed
	}
}

// close closes the socket and waits for its reading goroutine.
func (r *reader) close() error {
	var err error
	r.once.Do(func() {
		close(r.done)
		err = r.src.Close()
		r.wg.Wait()
	})
	return err
}
