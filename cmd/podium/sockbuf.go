package main

import "net"

// defaultUDPBuffer is the kernel buffer asked for the media socket. Every packet of every
// participant arrives on that one socket, and Linux's default (net.core.rmem_default, 208 KiB:
// about 90 full-size datagrams) overflowed in a 4-person meeting whenever the reader fell a few
// milliseconds behind a burst of keyframes (podium load, docs/benchmarks.md). The kernel caps the
// request at net.core.rmem_max / wmem_max.
const defaultUDPBuffer = 4 << 20

// growUDPBuffers returns an sfu.Config.WrapPacketConn that enlarges the socket's kernel buffers
// and otherwise leaves it as it is.
func growUDPBuffers(size int) func(net.PacketConn) net.PacketConn {
	return func(pc net.PacketConn) net.PacketConn {
		if b, ok := pc.(interface {
			SetReadBuffer(int) error
			SetWriteBuffer(int) error
		}); ok {
			_ = b.SetReadBuffer(size) // best effort: the kernel may give less
			_ = b.SetWriteBuffer(size)
		}
		return pc
	}
}
