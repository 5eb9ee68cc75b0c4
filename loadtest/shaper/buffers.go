package shaper

import (
	"net"

	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
)

// ClientSocketBuffer is the kernel buffer asked for each simulated client's UDP sockets. The
// Linux default (net.core.rmem_default, 208 KiB: about 90 full-size datagrams) overflows when a
// busy load generator reads a few milliseconds late, and the load generator must not be where
// packets are lost. The kernel caps it at net.core.rmem_max / wmem_max.
const ClientSocketBuffer = 4 << 20

// BigBuffers is the host's network with buffers of size bytes on every UDP socket pion opens
// on it; nil when the host's network cannot be had (the client's default then).
func BigBuffers(size int) transport.Net {
	n, err := stdnet.NewNet()
	if err != nil {
		return nil
	}
	return bufferedNet{Net: n, size: size}
}

type bufferedNet struct {
	transport.Net
	size int
}

type socketBuffers interface {
	SetReadBuffer(int) error
	SetWriteBuffer(int) error
}

func (n bufferedNet) grow(c any) {
	if b, ok := c.(socketBuffers); ok {
		_ = b.SetReadBuffer(n.size) // best effort: the kernel may give less
		_ = b.SetWriteBuffer(n.size)
	}
}

func (n bufferedNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err == nil {
		n.grow(c)
	}
	return c, err
}

func (n bufferedNet) ListenPacket(network, address string) (net.PacketConn, error) {
	c, err := n.Net.ListenPacket(network, address)
	if err == nil {
		n.grow(c)
	}
	return c, err
}
