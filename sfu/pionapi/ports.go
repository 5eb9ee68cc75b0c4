package pionapi

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/sfu/fastpath"
	"github.com/podium-sfu/podium/sfu/pionlog"
	"github.com/podium-sfu/podium/sfu/udpsock"
)

// listen opens the media ports: pion's ICE reads the UDP sockets through Podium's read path.
func (b *Base) listen(cfg Config) error {
	logger := pionlog.NewFactory(cfg.Logger)
	bind := net.ParseIP(cfg.BindIP)
	if bind == nil {
		return fmt.Errorf("sfu: bind address %q is not an IP address", cfg.BindIP)
	}
	ips := []net.IP{bind}
	if bind.IsUnspecified() {
		// A socket on 0.0.0.0 cannot tell pion which address to advertise: one socket and one
		// mux per interface address, each known to Podium's write path by its address.
		list := cfg.Interfaces
		if list == nil {
			list = interfaceIPs
		}
		var err error
		if ips, err = list(); err != nil {
			return err
		}
	}
	b.sockets = map[netip.Addr]*udpsock.Socket{}
	var muxes []ice.UDPMux
	for _, ip := range ips {
		udps, err := listenUDP(cfg, ip)
		if err != nil {
			for _, m := range muxes {
				_ = m.Close()
			}
			return fmt.Errorf("sfu: media UDP port on %s: %w", ip, err)
		}
		// pion reads the sockets through Podium's read path (sfu/fastpath).
		var ins []*fastpath.Conn
		for i, udp := range udps {
			conn := udp
			if cfg.WrapPacketConn != nil {
				conn = cfg.WrapPacketConn(udp)
			}
			if i == 0 {
				if b.udpConn == nil {
					b.udpConn = udp
				}
				addr, _ := netip.AddrFromSlice(ip.To4())
				b.sockets[addr] = udpsock.New(conn) // Podium sends on the first: the port is the same
			}
			ins = append(ins, fastpath.NewConn(conn, cfg.Routes))
		}
		var muxConn net.PacketConn = ins[0]
		if len(ins) > 1 {
			muxConn = fastpath.NewFanIn(ins)
		}
		muxes = append(muxes, ice.NewUDPMuxDefault(ice.UDPMuxParams{Logger: logger.NewLogger("udpmux"), UDPConn: muxConn}))
	}
	if len(muxes) == 1 {
		b.udpMux = muxes[0]
	} else {
		b.udpMux = ice.NewMultiUDPMuxDefault(muxes...)
	}
	if cfg.TCPPort >= 0 {
		ln, err := net.Listen("tcp4", net.JoinHostPort(cfg.BindIP, strconv.Itoa(cfg.TCPPort)))
		if err != nil {
			return fmt.Errorf("sfu: ICE-TCP port: %w", err)
		}
		b.tcpLn = ln
		b.tcpMux = webrtc.NewICETCPMux(logger.NewLogger("tcpmux"), ln, 32)
	}
	return nil
}

// listenUDP opens the media sockets of one address (tests: on their virtual network).
func listenUDP(cfg Config, ip net.IP) ([]net.PacketConn, error) {
	if cfg.Net != nil {
		c, err := cfg.Net.ListenPacket("udp4", net.JoinHostPort(ip.String(), strconv.Itoa(cfg.UDPPort)))
		if err != nil {
			return nil, err
		}
		return []net.PacketConn{c}, nil
	}
	udps, err := udpsock.ListenGroup(ip, cfg.UDPPort, cfg.UDPReaders)
	if err != nil {
		return nil, err
	}
	conns := make([]net.PacketConn, len(udps))
	for i, udp := range udps {
		if cfg.SocketBuffer > 0 {
			// The kernel's ~208 KiB default drops bursts (keyframes to many subscribers) at the
			// media socket; the loss then looks like congestion. Capped by net.core.{r,w}mem_max.
			_ = udp.SetReadBuffer(cfg.SocketBuffer)
			_ = udp.SetWriteBuffer(cfg.SocketBuffer)
		}
		conns[i] = udp
	}
	return conns, nil
}

// SocketFor is the media socket a local candidate's address lives on. With one socket it is
// that one whatever the candidate says (NodeIPs rewrite candidate addresses).
func (b *Base) SocketFor(local netip.Addr) *udpsock.Socket {
	if len(b.sockets) == 1 {
		for _, s := range b.sockets {
			return s
		}
	}
	return b.sockets[local]
}

// UDPAddr is the media UDP address (useful when UDPPort was 0).
func (b *Base) UDPAddr() net.Addr {
	if b.udpConn != nil {
		return b.udpConn.LocalAddr()
	}
	return nil
}

// TCPAddr is the ICE-TCP address, or nil when disabled.
func (b *Base) TCPAddr() net.Addr {
	if b.tcpLn != nil {
		return b.tcpLn.Addr()
	}
	return nil
}

// interfaceIPs are the IPv4 addresses of the interfaces that are up, loopback only when there
// is nothing else.
func interfaceIPs() ([]net.IP, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("sfu: network interfaces: %w", err)
	}
	var ips, loopback []net.IP
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			n, ok := a.(*net.IPNet)
			if !ok || n.IP.To4() == nil || n.IP.IsLinkLocalUnicast() {
				continue
			}
			if n.IP.IsLoopback() {
				loopback = append(loopback, n.IP.To4())
			} else {
				ips = append(ips, n.IP.To4())
			}
		}
	}
	if len(ips) == 0 {
		ips = loopback
	}
	if len(ips) == 0 {
		return nil, errors.New("sfu: no IPv4 interface address to listen on")
	}
	return ips, nil
}
