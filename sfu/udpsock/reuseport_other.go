//go:build !linux

package udpsock

import "net"

// ListenGroup opens one UDP socket: without Linux's SO_REUSEPORT balancing, one reader.
func ListenGroup(ip net.IP, port, _ int) ([]*net.UDPConn, error) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: ip, Port: port})
	if err != nil {
		return nil, err
	}
	return []*net.UDPConn{c}, nil
}

func DefaultReaders(int) int { return 1 }
