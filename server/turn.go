package server

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/pion/stun/v4"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/server/connlimit"
	"github.com/podium-sfu/podium/turnserver"
)

// TURN says which TURN servers clients are told of in `joined`, each participant with
// credentials of its own (the TURN REST scheme, turnserver.NewCredentials). The zero value
// offers none.
type TURN struct {
	// Embedded runs Podium's own TURN server (package turnserver) on the ports below, which
	// follow the port rule (0 a free port, -1 off): TURN over UDP and over TCP (the same number
	// by convention, 3478) and over TLS (443 gets through firewalls that pass HTTPS alone), with
	// the HTTP port's certificate. It relays to this node's media port and nowhere else.
	Embedded                  bool
	UDPPort, TCPPort, TLSPort int
	// RelayPortMin and RelayPortMax bound its relay sockets' ports (both 0: any).
	RelayPortMin, RelayPortMax int
	// Host is the embedded server's name in the URLs clients get (TURN over TLS checks it
	// against the certificate); default TLS.Domain, else the first node IP, else Bind.
	Host string
	// External are TURN or STUN server URLs clients get as well, e.g. a coturn's
	// "turn:turn.example.com:3478?transport=udp"; the TURN ones get credentials derived from
	// Secret, which coturn's static-auth-secret must equal.
	External []string
	// Secret is the shared secret credentials derive from. With an embedded server alone it may
	// be empty: a random one is made at start.
	Secret string
	// CredentialTTL is how long a participant's credentials stay good (default 24 h). An
	// allocation is refreshed with them, so they must outlast the longest session.
	CredentialTTL time.Duration
}

func (t TURN) on() bool { return t.Embedded || len(t.External) > 0 }

func (t TURN) check() error {
	if !t.on() {
		return nil
	}
	if len(t.External) > 0 && t.Secret == "" && hasTURN(t.External) {
		return errors.New("turn: external TURN servers need the shared secret (TURN.Secret, coturn's static-auth-secret)")
	}
	if t.Embedded {
		for _, p := range []struct {
			name string
			v    int
		}{{"UDPPort", t.UDPPort}, {"TCPPort", t.TCPPort}, {"TLSPort", t.TLSPort}} {
			if p.v < -1 || p.v > 65535 {
				return fmt.Errorf("turn: %s %d: want 1-65535, 0 for a free port, -1 for off", p.name, p.v)
			}
		}
	}
	for _, u := range t.External {
		if _, err := stun.ParseURI(u); err != nil {
			return fmt.Errorf("turn: external server %q: %w", u, err)
		}
	}
	return nil
}

func hasTURN(urls []string) bool {
	for _, u := range urls {
		if uri, err := stun.ParseURI(u); err == nil && (uri.Scheme == stun.SchemeTypeTURN || uri.Scheme == stun.SchemeTypeTURNS) {
			return true
		}
	}
	return false
}

// startTURN starts the embedded TURN server, if any, and returns the ICE servers each
// participant gets (nil with no TURN configured).
func (n *Node) startTURN() (func(identity string) []protocol.ICEServer, error) {
	t := n.cfg.TURN
	if !t.on() {
		return nil, nil
	}
	if t.Secret == "" {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		t.Secret = base64.RawStdEncoding.EncodeToString(b)
	}
	if t.CredentialTTL <= 0 {
		t.CredentialTTL = 24 * time.Hour
	}
	var urls, stunURLs []string
	if t.Embedded {
		var err error
		if n.turn, err = n.embeddedTURN(t); err != nil {
			return nil, err
		}
		urls = n.turnURLs(t)
	}
	for _, u := range t.External {
		if uri, _ := stun.ParseURI(u); uri.Scheme == stun.SchemeTypeSTUN || uri.Scheme == stun.SchemeTypeSTUNS {
			stunURLs = append(stunURLs, u)
		} else {
			urls = append(urls, u)
		}
	}
	return func(identity string) []protocol.ICEServer {
		var out []protocol.ICEServer
		if len(urls) > 0 {
			c := turnserver.NewCredentials(t.Secret, identity, time.Now().Add(t.CredentialTTL))
			out = append(out, protocol.ICEServer{URLs: urls, Username: c.Username, Credential: c.Password})
		}
		if len(stunURLs) > 0 {
			out = append(out, protocol.ICEServer{URLs: stunURLs})
		}
		return out
	}, nil
}

func (n *Node) embeddedTURN(t TURN) (*turnserver.Server, error) {
	cfg := n.cfg
	relayIP := cfg.Bind
	if len(cfg.NodeIPs) > 0 {
		relayIP = cfg.NodeIPs[0]
	}
	if ip := net.ParseIP(relayIP); ip == nil || ip.IsUnspecified() {
		return nil, fmt.Errorf("turn: bound to %s, the embedded TURN server needs a node IP to relay from", cfg.Bind)
	}
	peers, err := mediaPeers(cfg.Bind, cfg.NodeIPs, n.engine.UDPAddr())
	if err != nil {
		return nil, err
	}
	tc := turnserver.Config{
		BindIP: cfg.Bind, RelayIP: relayIP, UDPPort: t.UDPPort, TCPPort: t.TCPPort, TLSPort: t.TLSPort,
		Secret: t.Secret, RelayPortMin: t.RelayPortMin, RelayPortMax: t.RelayPortMax, Peers: peers,
		Logger: cfg.Logger.With("component", "turn"), WrapListener: turnConnCaps(cfg),
	}
	if t.TLSPort >= 0 {
		if n.tls == nil {
			return nil, errors.New("turn: TURN over TLS needs the node's TLS (a certificate, an ACME domain or a dev certificate)")
		}
		tc.TLS = n.tls.config.Clone()
		tc.TLS.NextProtos = nil // TURN has no ALPN of its own; HTTP's would mislead
	}
	s, err := turnserver.Start(tc)
	if err != nil {
		return nil, fmt.Errorf("turn: %w", err)
	}
	return s, nil
}

// turnConnCaps caps TURN's TCP and TLS connections as the HTTP listener's are: in all, and per
// client address four times the HTTP cap (a participant's two connections may each reach TURN
// over TCP and TLS, besides its one WebSocket).
func turnConnCaps(cfg Config) func(net.Listener) net.Listener {
	lim := cfg.HTTP.withDefaults()
	return func(l net.Listener) net.Listener {
		return connlimit.New(l, connlimit.Config{Max: connlimit.Fit(lim.MaxConns, connlimit.NoFile()),
			MaxPerKey: 4 * max(lim.MaxConnsPerIP, 0), Rejected: rejectLogger(cfg.Logger.With("component", "turn"))})
	}
}

// mediaPeers are the addresses the embedded TURN server may relay to: the media port on the
// node IPs and on the bound address (every interface's for 0.0.0.0).
func mediaPeers(bind string, nodeIPs []string, media net.Addr) ([]netip.AddrPort, error) {
	ua, ok := media.(*net.UDPAddr)
	if !ok {
		return nil, fmt.Errorf("turn: media address %v is not UDP", media)
	}
	port := uint16(ua.Port)
	ips := append([]string(nil), nodeIPs...)
	if ip := net.ParseIP(bind); ip != nil && !ip.IsUnspecified() {
		ips = append(ips, bind)
	} else {
		addrs, err := net.InterfaceAddrs()
		if err != nil {
			return nil, fmt.Errorf("turn: %w", err)
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok {
				ips = append(ips, ipn.IP.String())
			}
		}
	}
	var out []netip.AddrPort
	for _, s := range ips {
		if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, netip.AddrPortFrom(a.Unmap(), port))
		}
	}
	return out, nil
}

// turnURLs are the embedded server's URLs, one per transport that is on.
func (n *Node) turnURLs(t TURN) []string {
	host := t.Host
	switch {
	case host != "":
	case n.cfg.TLS.Domain != "":
		host = n.cfg.TLS.Domain
	case len(n.cfg.NodeIPs) > 0:
		host = n.cfg.NodeIPs[0]
	default:
		host = n.cfg.Bind
	}
	hp := func(a net.Addr) string { return net.JoinHostPort(host, strconv.Itoa(portOf(a))) }
	var urls []string
	if a := n.turn.UDPAddr(); a != nil {
		urls = append(urls, "turn:"+hp(a)+"?transport=udp")
	}
	if a := n.turn.TCPAddr(); a != nil {
		urls = append(urls, "turn:"+hp(a)+"?transport=tcp")
	}
	if a := n.turn.TLSAddr(); a != nil {
		urls = append(urls, "turns:"+hp(a)+"?transport=tcp")
	}
	return urls
}

func portOf(a net.Addr) int {
	switch a := a.(type) {
	case *net.UDPAddr:
		return a.Port
	case *net.TCPAddr:
		return a.Port
	}
	return 0
}

// TURNServer is the embedded TURN server, nil when there is none.
func (n *Node) TURNServer() *turnserver.Server { return n.turn }
