package fastpath

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// FanIn is several media sockets sharing one port (udpsock.ListenGroup) as the one connection
// pion's UDP mux reads. Each socket has its own reader goroutine running Podium's read path
// (Conn), which forwards what it takes on that goroutine; what it leaves to pion (STUN,
// DTLS, SCTP: little) is copied and queued for the mux. pion writes on the first socket: the
// port is the same.
type FanIn struct {
	*Conn     // the first socket: writes, local address, deadlines
	all       []*Conn
	queue     chan datagram
	closed    chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// MaxDatagram is the largest datagram a reader passes on whole: pion's UDP mux reads 8 KiB.
const MaxDatagram = 8192

type datagram struct {
	b    []byte
	addr netip.AddrPort
	err  error
}

func NewFanIn(conns []*Conn) *FanIn {
	f := &FanIn{Conn: conns[0], all: conns, queue: make(chan datagram, 256), closed: make(chan struct{})}
	for _, c := range conns {
		f.wg.Add(1)
		go f.read(c)
	}
	return f
}

func (f *FanIn) read(c *Conn) {
	defer f.wg.Done()
	buf := make([]byte, MaxDatagram)
	for {
		n, addr, err := c.ReadFromAddrPort(buf)
		d := datagram{addr: addr, err: err}
		if err == nil {
			d.b = append([]byte(nil), buf[:n]...)
		}
		select {
		case f.queue <- d:
		case <-f.closed:
			return
		}
		if err != nil {
			return
		}
	}
}

// ReadFromAddrPort returns the next datagram no reader took.
func (f *FanIn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	select {
	case d := <-f.queue:
		if d.err != nil {
			return 0, d.addr, d.err
		}
		return copy(b, d.b), d.addr, nil
	case <-f.closed:
		return 0, netip.AddrPort{}, net.ErrClosed
	}
}

func (f *FanIn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, err := f.ReadFromAddrPort(b)
	if err != nil {
		return n, nil, err
	}
	return n, net.UDPAddrFromAddrPort(addr), nil
}

// SetReadDeadline has nothing to cut short: Close ends the readers.
func (f *FanIn) SetReadDeadline(time.Time) error { return nil }

func (f *FanIn) SetDeadline(t time.Time) error { return f.Conn.SetWriteDeadline(t) }

// Close closes every socket and waits for the readers.
func (f *FanIn) Close() error {
	var err error
	f.closeOnce.Do(func() {
		close(f.closed)
		for _, c := range f.all {
			if cerr := c.Close(); cerr != nil && err == nil {
				err = cerr
			}
		}
		f.wg.Wait()
	})
	return err
}
