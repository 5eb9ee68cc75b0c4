//go:build linux

package udpsock

import (
	"context"
	"net"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// ListenGroup opens n UDP sockets on one address and port with SO_REUSEPORT: the kernel
// gives each client address (by its 4-tuple) to one of them, so n readers forward in parallel
// and each client's packets stay in order. Port 0 picks a free port for all of them.
func ListenGroup(ip net.IP, port, n int) ([]*net.UDPConn, error) {
	if n <= 1 {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: ip, Port: port})
		if err != nil {
			return nil, err
		}
		return []*net.UDPConn{c}, nil
	}
	if port != 0 {
		// SO_REUSEPORT would let a second server on this port (same user) share it silently,
		// each getting part of the clients: a plain bind first fails as it always did.
		probe, err := net.ListenUDP("udp4", &net.UDPAddr{IP: ip, Port: port})
		if err != nil {
			return nil, err
		}
		_ = probe.Close()
	}
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		}); err != nil {
			return err
		}
		return serr
	}}
	var conns []*net.UDPConn
	for i := range n {
		pc, err := lc.ListenPacket(context.Background(), "udp4", net.JoinHostPort(ip.String(), strconv.Itoa(port)))
		if err != nil {
			for _, c := range conns {
				_ = c.Close()
			}
			return nil, err
		}
		conns = append(conns, pc.(*net.UDPConn))
		if i == 0 {
			port = pc.LocalAddr().(*net.UDPAddr).Port
		}
	}
	return conns, nil
}

// DefaultReaders: one socket per core, up to 8.
func DefaultReaders(procs int) int { return min(max(procs, 1), 8) }
