package turnserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/turn/v5"

	"github.com/podium-sfu/podium/sfu/pionlog"
)

// Sentinel errors.
var (
	ErrConfig   = errors.New("turnserver: bad config")
	ErrTCPRelay = errors.New("turnserver: TCP relaying (RFC 6062) is not offered")
)

// Config configures the embedded TURN server.
type Config struct {
	// BindIP is the address the listeners and the relay sockets bind (default 127.0.0.1).
	BindIP string
	// RelayIP is the address clients are told to relay from: the node's public address.
	// Default BindIP; required when BindIP is unspecified (0.0.0.0).
	RelayIP string
	// Ports follow Podium's rule: a port number, 0 for a free one, -1 for off. TLSPort needs TLS.
	UDPPort, TCPPort, TLSPort int
	TLS                       *tls.Config
	// Secret is the TURN REST shared secret NewCredentials derives passwords from.
	Secret string
	Realm  string // default "podium"
	// RelayPortMin and RelayPortMax bound the relay sockets' ports (both 0: any free port), so
	// that a firewall can open a range.
	RelayPortMin, RelayPortMax int
	// Peers are the only destinations relayed packets may go to: the SFU's media sockets.
	// This TURN server exists to reach Podium, and must not be an open relay into the network
	// it stands in. Permissions are refused for other addresses, and packets to other ports of
	// a permitted address are dropped.
	Peers []netip.AddrPort
	// MaxAllocations caps one identity's open allocations (default 16: a browser makes one per
	// server URL and peer connection, two connections).
	MaxAllocations int
	// HandshakeTimeout closes a TCP or TLS connection that sends nothing this long after it
	// opens (default 10 s); IdleTimeout one silent this long later (default 10 min, an
	// allocation's lifetime, which a client refreshes before it ends).
	HandshakeTimeout, IdleTimeout time.Duration
	// WrapListener, when set, wraps the TCP listeners before TLS (the node's connection caps).
	WrapListener func(net.Listener) net.Listener
	Logger       *slog.Logger
	Now          func() time.Time // default time.Now; tests move it
}

func (c *Config) defaults() error {
	if c.BindIP == "" {
		c.BindIP = "127.0.0.1"
	}
	bind := net.ParseIP(c.BindIP)
	if bind == nil {
		return fmt.Errorf("%w: BindIP %q is not an IP address", ErrConfig, c.BindIP)
	}
	if c.RelayIP == "" {
		if bind.IsUnspecified() {
			return fmt.Errorf("%w: BindIP %s needs a RelayIP (the node's public address)", ErrConfig, c.BindIP)
		}
		c.RelayIP = c.BindIP
	}
	if net.ParseIP(c.RelayIP) == nil {
		return fmt.Errorf("%w: RelayIP %q is not an IP address", ErrConfig, c.RelayIP)
	}
	for _, p := range []struct {
		name string
		v    int
	}{{"UDPPort", c.UDPPort}, {"TCPPort", c.TCPPort}, {"TLSPort", c.TLSPort}} {
		if p.v < -1 || p.v > 65535 {
			return fmt.Errorf("%w: %s %d: want 1-65535, 0 for a free port, -1 for off", ErrConfig, p.name, p.v)
		}
	}
	switch {
	case c.UDPPort < 0 && c.TCPPort < 0 && c.TLSPort < 0:
		return fmt.Errorf("%w: every port is off", ErrConfig)
	case c.TLSPort >= 0 && c.TLS == nil:
		return fmt.Errorf("%w: TLSPort needs a TLS config (a certificate)", ErrConfig)
	case c.Secret == "":
		return fmt.Errorf("%w: no Secret", ErrConfig)
	case c.RelayPortMin < 0 || c.RelayPortMax > 65535 || c.RelayPortMin > c.RelayPortMax || (c.RelayPortMin == 0) != (c.RelayPortMax == 0):
		return fmt.Errorf("%w: relay ports %d-%d: want min <= max within 1-65535, or both 0", ErrConfig, c.RelayPortMin, c.RelayPortMax)
	}
	if c.Realm == "" {
		c.Realm = "podium"
	}
	if c.MaxAllocations == 0 {
		c.MaxAllocations = 16
	}
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = 10 * time.Second
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 10 * time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// Server is a running TURN server.
type Server struct {
	turn          *turn.Server
	udp, tcp, tls net.Addr
	quota         quota
	log           *slog.Logger
	refusedCount  atomic.Int64
	relayed       atomic.Uint64
}

// Start opens the listeners and serves until Close.
func Start(cfg Config) (*Server, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	s := &Server{log: cfg.Logger, quota: quota{max: cfg.MaxAllocations, open: map[string]int{}}}
	gen := relayGenerator(cfg, &s.relayed)
	allowed := map[netip.Addr]bool{}
	for _, p := range cfg.Peers {
		allowed[p.Addr().Unmap()] = true
	}
	permit := func(_ net.Addr, peer net.IP) bool {
		ip, ok := netip.AddrFromSlice(peer)
		return ok && allowed[ip.Unmap()]
	}
	var sc turn.ServerConfig
	var closers []func() error
	fail := func(err error) (*Server, error) {
		for _, c := range closers {
			_ = c()
		}
		return nil, err
	}
	if cfg.UDPPort >= 0 {
		pc, err := net.ListenPacket("udp", net.JoinHostPort(cfg.BindIP, strconv.Itoa(cfg.UDPPort)))
		if err != nil {
			return fail(fmt.Errorf("turn udp: %w", err))
		}
		closers, s.udp = append(closers, pc.Close), pc.LocalAddr()
		sc.PacketConnConfigs = append(sc.PacketConnConfigs, turn.PacketConnConfig{PacketConn: pc, RelayAddressGenerator: gen, PermissionHandler: permit})
	}
	for _, l := range []struct {
		port int
		tls  *tls.Config
		addr *net.Addr
	}{{cfg.TCPPort, nil, &s.tcp}, {cfg.TLSPort, cfg.TLS, &s.tls}} {
		if l.port < 0 {
			continue
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(cfg.BindIP, strconv.Itoa(l.port)))
		if err != nil {
			return fail(fmt.Errorf("turn tcp: %w", err))
		}
		closers, *l.addr = append(closers, ln.Close), ln.Addr()
		if cfg.WrapListener != nil {
			ln = cfg.WrapListener(ln)
		}
		ln = idleListener{Listener: ln, first: cfg.HandshakeTimeout, idle: cfg.IdleTimeout}
		if l.tls != nil {
			ln = tls.NewListener(ln, l.tls)
		}
		sc.ListenerConfigs = append(sc.ListenerConfigs, turn.ListenerConfig{Listener: ln, RelayAddressGenerator: gen, PermissionHandler: permit})
	}
	sc.Realm = cfg.Realm
	sc.LoggerFactory = pionlog.NewFactory(cfg.Logger)
	sc.AuthHandler = authHandler(cfg.Secret, cfg.Now, s.refused)
	sc.QuotaHandler = s.quota.admit
	sc.EventHandler = turn.EventHandler{
		OnAllocationCreated: func(src, _ net.Addr, proto, userID, _ string, relay net.Addr, _ int) {
			s.quota.add(userID, 1)
			s.log.Debug("TURN allocation", "identity", userID, "client", src.String(), "transport", proto, "relay", relay.String())
		},
		OnAllocationDeleted: func(_, _ net.Addr, _, userID, _ string) { s.quota.add(userID, -1) },
	}
	t, err := turn.NewServer(sc)
	if err != nil {
		return fail(fmt.Errorf("turn: %w", err))
	}
	s.turn = t
	return s, nil
}

// refused logs the first refusals of credentials at Info and the rest at Debug: a client with
// stale credentials retries, and a flood must not flood the log.
func (s *Server) refused(username, reason string) {
	level := slog.LevelDebug
	if s.refusedCount.Add(1) <= 10 {
		level = slog.LevelInfo
	}
	s.log.Log(context.Background(), level, "TURN credentials refused", "username", username, "reason", reason)
}

// Refused is how many requests carried credentials that were malformed or expired.
func (s *Server) Refused() int64 { return s.refusedCount.Load() }

// UDPAddr, TCPAddr and TLSAddr are the listeners' addresses, nil for those off.
func (s *Server) UDPAddr() net.Addr { return s.udp }
func (s *Server) TCPAddr() net.Addr { return s.tcp }
func (s *Server) TLSAddr() net.Addr { return s.tls }

// Relayed is how many packets clients have relayed to the peers.
func (s *Server) Relayed() uint64 { return s.relayed.Load() }

// AllocationsOf is how many allocations one identity holds.
func (s *Server) AllocationsOf(identity string) int {
	s.quota.mu.Lock()
	defer s.quota.mu.Unlock()
	return s.quota.open[identity]
}

// Allocations is how many allocations are open.
func (s *Server) Allocations() int { return s.turn.AllocationCount() }

// Close ends every allocation and closes the listeners.
func (s *Server) Close() error { return s.turn.Close() }

// quota counts each identity's open allocations.
type quota struct {
	mu   sync.Mutex
	max  int
	open map[string]int
}

// admit is pion's quota check; it, like the events, names the identity the auth handler gave.
func (q *quota) admit(identity, _ string, _ net.Addr) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.open[identity] < q.max
}

func (q *quota) add(identity string, d int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.open[identity] += d; q.open[identity] <= 0 {
		delete(q.open, identity)
	}
}
