//go:build !(linux && (amd64 || arm64 || riscv64 || ppc64le || loong64 || s390x || mips64 || mips64le || ppc64))

package fastpath

import (
	"net"
	"net/netip"
)

// Elsewhere the media sockets go through net.UDPConn (rawsock_linux.go says why Linux does not).

type rawReader struct{ uc *net.UDPConn }

func newRawReader(uc *net.UDPConn) *rawReader { return &rawReader{uc: uc} }

func (r *rawReader) read(b []byte) (int, netip.AddrPort, int64, error) {
	n, addr, err := r.uc.ReadFromUDPAddrPort(b)
	return n, netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port()), 0, err
}

func newRawWriter(uc *net.UDPConn) udpWriter { return uc }
