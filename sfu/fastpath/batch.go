package sfu

import (
	"net"
	"net/netip"
	"syscall"
)

// batchSize is how many datagrams one system call hands to the kernel at most.
const batchSize = 64

// sendBatch collects what one fan-out sends (one publisher packet to every subscriber on Podium's
// write path) so that the kernel gets it in a few sendmmsg calls instead of one sendto per
// subscriber. Each receiver layer has one, used only by that layer's reader goroutine; the
// queued buffers are the down tracks' per-layer scratch, untouched until the next packet of
// the same layer, which comes after the flush.
type sendBatch struct {
	n     int
	sock  *socket
	bufs  [batchSize][]byte
	addrs [batchSize]netip.AddrPort
	sys   sysBatch // the platform's system call state
}

// add queues one datagram, flushing first when the batch is full or for another socket.
func (b *sendBatch) add(s *socket, buf []byte, addr netip.AddrPort) {
	if b.n == batchSize || (b.n > 0 && s != b.sock) {
		b.flush()
	}
	b.sock = s
	b.bufs[b.n], b.addrs[b.n] = buf, addr
	b.n++
}

// flush sends what is queued.
func (b *sendBatch) flush() {
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
type socket struct {
	w   udpWriter
	raw syscall.RawConn
}

func newSocket(pc net.PacketConn) *socket {
	s := &socket{w: asUDPWriter(pc)}
	if uc, ok := pc.(*net.UDPConn); ok {
		s.w = newRawWriter(uc)
		if raw, err := uc.SyscallConn(); err == nil && batchSupported {
			s.raw = raw
		}
	}
	return s
}
