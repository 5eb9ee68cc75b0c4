// Package udpsock is the media sockets as Podium's path uses them: several sockets sharing a
// port (SO_REUSEPORT), raw recvmsg with the kernel's arrival times, sendto, and sendmmsg batches,
// none of them allocating or waking the runtime's monitor thread per packet.
package udpsock

import (
	"net"
	"net/netip"
	"syscall"
)

// batchSize is how many datagrams one system call hands to the kernel at most.
const batchSize = 64

// Batch collects what one fan-out sends (one publisher packet to every subscriber on Podium's
// write path) so that the kernel gets it in a few sendmmsg calls instead of one sendto per
// subscriber. Each receiver layer has one, used only by that layer's reader goroutine; the
// queued buffers are the down tracks' per-layer scratch, untouched until the next packet of
// the same layer, which comes after the flush.
type Batch struct {
	n     int
	sock  *Socket
	bufs  [batchSize][]byte
	addrs [batchSize]netip.AddrPort
	sys   sysBatch // the platform's system call state
}

// Add queues one datagram, flushing first when the batch is full or for another socket.
func (b *Batch) Add(s *Socket, buf []byte, addr netip.AddrPort) {
	if b.n == batchSize || (b.n > 0 && s != b.sock) {
		b.Flush()
	}
	b.sock = s
	b.bufs[b.n], b.addrs[b.n] = buf, addr
	b.n++
}

// Flush sends what is queued.
func (b *Batch) Flush() {
	if b.n == 0 {
		return
	}
	if b.sock.raw == nil || !b.sys.send(b.sock.raw, b.bufs[:b.n], b.addrs[:b.n]) {
		for i := range b.n {
			_, _ = b.sock.w.WriteToUDPAddrPort(b.bufs[i], b.addrs[i])
		}
	}
	clear(b.bufs[:b.n])
	b.n = 0
}

// socket is a media socket Podium writes to: one datagram at a time through w, or in batches
// through raw when the platform has sendmmsg and the socket is a plain UDP socket.
type Socket struct {
	w   Writer
	raw syscall.RawConn
}

// New is pc as a media socket.
func New(pc net.PacketConn) *Socket {
	s := &Socket{w: AsWriter(pc)}
	if uc, ok := pc.(*net.UDPConn); ok {
		s.w = NewWriter(uc)
		if raw, err := uc.SyscallConn(); err == nil && batchSupported {
			s.raw = raw
		}
	}
	return s
}

// WriteToUDPAddrPort sends one datagram at once.
func (s *Socket) WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	return s.w.WriteToUDPAddrPort(b, addr)
}

// FromWriter is a media socket that sends through w one datagram at a time (tests see what
// leaves).
func FromWriter(w Writer) *Socket { return &Socket{w: w} }

// Unbatched is the same socket without sendmmsg: one system call per datagram (benchmarks
// compare the two).
func (s *Socket) Unbatched() *Socket { return &Socket{w: s.w} }

// Writer sends one datagram without allocating (net.UDPConn does).
type Writer interface {
	WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error)
}

// packetConnWriter adapts a wrapped socket (tests inject loss and delay) that only has WriteTo.
type packetConnWriter struct{ net.PacketConn }

func (w packetConnWriter) WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	return w.WriteTo(b, net.UDPAddrFromAddrPort(addr))
}

// AsWriter is pc as a Writer.
func AsWriter(pc net.PacketConn) Writer {
	if w, ok := pc.(Writer); ok {
		return w
	}
	return packetConnWriter{pc}
}
