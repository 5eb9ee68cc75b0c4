// Package publicip finds the address this host has on the Internet by asking STUN servers
// which address its requests came from (RFC 8489 binding requests over UDP). Behind a 1:1 NAT
// (a cloud VM's elastic IP) that is the address to put in ICE candidates.
package publicip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/pion/stun/v4"
)

// ErrNoAnswer is returned when no server gave an address.
var ErrNoAnswer = errors.New("publicip: no STUN server answered")

// DefaultServers are asked when none are configured.
var DefaultServers = []string{"stun.l.google.com:19302", "stun.cloudflare.com:3478"}

// Config says whom to ask and from where.
type Config struct {
	// Servers are STUN servers as host:port, asked in turn until one answers.
	Servers []string
	// LocalIP is the address the request leaves from (the one the node serves on); empty: any.
	LocalIP string
	// Tries per server, with the wait doubling from Wait (defaults 3 and 500 ms).
	Tries int
	Wait  time.Duration
}

// Discover asks the servers in turn and returns the first mapped address one gives.
func Discover(ctx context.Context, cfg Config) (netip.Addr, error) {
	if len(cfg.Servers) == 0 {
		cfg.Servers = DefaultServers
	}
	if cfg.Tries <= 0 {
		cfg.Tries = 3
	}
	if cfg.Wait <= 0 {
		cfg.Wait = 500 * time.Millisecond
	}
	var errs []error
	for _, server := range cfg.Servers {
		addr, err := ask(ctx, cfg, server)
		if err == nil {
			return addr, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", server, err))
		if ctx.Err() != nil {
			break
		}
	}
	return netip.Addr{}, fmt.Errorf("%w: %w", ErrNoAnswer, errors.Join(errs...))
}

// ask sends binding requests to one server until it answers or the tries run out.
func ask(ctx context.Context, cfg Config, server string) (netip.Addr, error) {
	var lc net.ListenConfig
	pc, err := lc.ListenPacket(ctx, "udp4", net.JoinHostPort(cfg.LocalIP, "0"))
	if err != nil {
		return netip.Addr{}, err
	}
	defer pc.Close()
	to, err := net.DefaultResolver.LookupNetIP(ctx, "ip4", hostOf(server))
	if err != nil || len(to) == 0 {
		return netip.Addr{}, fmt.Errorf("resolve: %w", err)
	}
	port, err := net.LookupPort("udp", portOf(server))
	if err != nil {
		return netip.Addr{}, err
	}
	dst := net.UDPAddrFromAddrPort(netip.AddrPortFrom(to[0], uint16(port)))
	req, err := stun.Build(stun.TransactionID, stun.BindingRequest, stun.Fingerprint)
	if err != nil {
		return netip.Addr{}, err
	}
	stop := context.AfterFunc(ctx, func() { _ = pc.SetReadDeadline(time.Now()) })
	defer stop()
	wait, buf := cfg.Wait, make([]byte, 1500)
	for range cfg.Tries {
		if _, err := pc.WriteTo(req.Raw, dst); err != nil {
			return netip.Addr{}, err
		}
		_ = pc.SetReadDeadline(time.Now().Add(wait))
		if ctx.Err() != nil { // ended before the deadline was set: AfterFunc's came first
			return netip.Addr{}, ctx.Err()
		}
		if addr, err := awaitAnswer(pc, buf, req.TransactionID); err == nil || !errors.Is(err, errRetry) {
			return addr, err
		}
		if ctx.Err() != nil {
			return netip.Addr{}, ctx.Err()
		}
		wait *= 2
	}
	return netip.Addr{}, errors.New("no answer")
}

var errRetry = errors.New("publicip: try again")

// awaitAnswer reads until the answer to id arrives or the read deadline passes; strays are
// skipped.
func awaitAnswer(pc net.PacketConn, buf []byte, id [stun.TransactionIDSize]byte) (netip.Addr, error) {
	for {
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return netip.Addr{}, errRetry
			}
			return netip.Addr{}, err
		}
		m := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
		if m.Decode() != nil || m.TransactionID != id {
			continue
		}
		if m.Type.Class == stun.ClassErrorResponse {
			return netip.Addr{}, errors.New("error response")
		}
		var xor stun.XORMappedAddress
		if err := xor.GetFrom(m); err == nil {
			return addrOf(xor.IP)
		}
		var mapped stun.MappedAddress // RFC 3489 servers
		if err := mapped.GetFrom(m); err != nil {
			return netip.Addr{}, fmt.Errorf("answer without an address: %w", err)
		}
		return addrOf(mapped.IP)
	}
}

func addrOf(ip net.IP) (netip.Addr, error) {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return netip.Addr{}, fmt.Errorf("bad address %v", ip)
	}
	return a.Unmap(), nil
}

func hostOf(hostport string) string {
	h, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return hostport
	}
	return h
}

func portOf(hostport string) string {
	_, p, err := net.SplitHostPort(hostport)
	if err != nil {
		return "3478"
	}
	return p
}
