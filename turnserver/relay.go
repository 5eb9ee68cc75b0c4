package turnserver

import (
	"net"
	"net/netip"
	"sync/atomic"

	"github.com/pion/turn/v5"
)

// relayGenerator makes the relay sockets: on BindIP, announced as RelayIP, in the configured
// port range, and able to send only to the configured peers.
func relayGenerator(cfg Config, relayed *atomic.Uint64) turn.RelayAddressGenerator {
	relayIP := net.ParseIP(cfg.RelayIP)
	var gen turn.RelayAddressGenerator = &turn.RelayAddressGeneratorStatic{RelayAddress: relayIP, Address: cfg.BindIP}
	if cfg.RelayPortMin > 0 {
		gen = &turn.RelayAddressGeneratorPortRange{RelayAddress: relayIP, Address: cfg.BindIP,
			MinPort: uint16(cfg.RelayPortMin), MaxPort: uint16(cfg.RelayPortMax)}
	}
	peers := map[netip.AddrPort]bool{}
	for _, p := range cfg.Peers {
		peers[netip.AddrPortFrom(p.Addr().Unmap(), p.Port())] = true
	}
	return peerOnly{RelayAddressGenerator: gen, peers: peers, relayed: relayed}
}

// peerOnly hands out UDP relay sockets that send to the peers alone, and no TCP relays.
type peerOnly struct {
	turn.RelayAddressGenerator
	peers   map[netip.AddrPort]bool // read-only once built
	relayed *atomic.Uint64          // packets sent to peers
}

func (g peerOnly) AllocatePacketConn(c turn.AllocateListenerConfig) (net.PacketConn, net.Addr, error) {
	pc, addr, err := g.RelayAddressGenerator.AllocatePacketConn(c)
	if err != nil {
		return nil, nil, err
	}
	return peerConn{PacketConn: pc, peers: g.peers, relayed: g.relayed}, addr, nil
}

func (peerOnly) AllocateListener(turn.AllocateListenerConfig) (net.Listener, net.Addr, error) {
	return nil, nil, ErrTCPRelay
}

func (peerOnly) AllocateConn(turn.AllocateConnConfig) (net.Conn, error) { return nil, ErrTCPRelay }

// peerConn drops what a client relays to anything but a peer, as a firewall would: the
// permission check is by IP only, and other ports of the SFU's address are not for clients.
type peerConn struct {
	net.PacketConn
	peers   map[netip.AddrPort]bool
	relayed *atomic.Uint64
}

func (c peerConn) WriteTo(b []byte, to net.Addr) (int, error) {
	if ua, ok := to.(*net.UDPAddr); ok {
		ap := ua.AddrPort()
		if c.peers[netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())] {
			c.relayed.Add(1)
			return c.PacketConn.WriteTo(b, to)
		}
	}
	return len(b), nil
}
