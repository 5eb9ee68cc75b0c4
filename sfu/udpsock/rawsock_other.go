//go:build !(linux && (amd64 || arm64 || riscv64 || ppc64le || loong64 || s390x || mips64 || mips64le || ppc64))

package udpsock

import (
	"net"
	"net/netip"
)

// Elsewhere the media sockets go through net.UDPConn (rawsock_linux.go says why Linux does not).

type Reader struct{ uc *net.UDPConn }

func NewReader(uc *net.UDPConn) *Reader { return &Reader{uc: uc} }

func (r *Reader) Read(b []byte) (int, netip.AddrPort, int64, error) {
	n, addr, err := r.uc.ReadFromUDPAddrPort(b)
	return n, netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port()), 0, err
}

func NewWriter(uc *net.UDPConn) Writer { return uc }
