package main

import (
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/pion/stun/v4"

	"github.com/podium-sfu/podium/publicip"
	"github.com/podium-sfu/podium/server"
)

// netFlags are serve's flags for reaching the node across the Internet: TLS, TURN and the
// public address (docs/deploy.md).
type netFlags struct {
	tlsCert, tlsKey, tlsDomain, acmeCache, acmeEmail string
	devTLS                                           bool
	stunServers                                      string
	turnPort, turnTLSPort                            int
	turnSecret, turnHost, turnExternal, relayPorts   string
	turnTTL                                          time.Duration
}

func defineNetFlags(fs *flag.FlagSet, env *envInts, f *netFlags) {
	fs.StringVar(&f.tlsCert, "tls-cert", envDefault("tls-cert", ""), "serve HTTPS and wss on the HTTP port with this PEM certificate (chain included); needs --tls-key [PODIUM_TLS_CERT]")
	fs.StringVar(&f.tlsKey, "tls-key", envDefault("tls-key", ""), "the PEM key of --tls-cert [PODIUM_TLS_KEY]")
	fs.StringVar(&f.tlsDomain, "tls-domain", envDefault("tls-domain", ""), "obtain and renew a certificate for this domain from Let's Encrypt (TLS-ALPN-01: the HTTP port must be reachable as 443) [PODIUM_TLS_DOMAIN]")
	fs.StringVar(&f.acmeCache, "tls-acme-cache", envDefault("tls-acme-cache", ""), "directory keeping --tls-domain's account and certificates across restarts; default the user cache directory [PODIUM_TLS_ACME_CACHE]")
	fs.StringVar(&f.acmeEmail, "tls-acme-email", envDefault("tls-acme-email", ""), "contact address given to the certificate authority for --tls-domain (optional) [PODIUM_TLS_ACME_EMAIL]")
	fs.BoolVar(&f.devTLS, "dev-tls", env.getBool("dev-tls", false), "serve HTTPS with a self-signed certificate made at start, so that browsers on the LAN get a secure context (after a warning) [PODIUM_DEV_TLS]")
	fs.StringVar(&f.stunServers, "stun-servers", envDefault("stun-servers", strings.Join(publicip.DefaultServers, ",")), "STUN servers (host:port, comma-separated) --node-ip auto asks for the public address [PODIUM_STUN_SERVERS]")
	fs.IntVar(&f.turnPort, "turn-port", env.get("turn-port", -1), "run the embedded TURN server on this port, UDP and TCP (3478 by convention); 0: free ones; -1: off [PODIUM_TURN_PORT]")
	fs.IntVar(&f.turnTLSPort, "turn-tls-port", env.get("turn-tls-port", -1), "embedded TURN over TLS on this port (443 passes firewalls that allow HTTPS alone; 5349 by convention) with the HTTP port's certificate; -1: off [PODIUM_TURN_TLS_PORT]")
	fs.StringVar(&f.turnSecret, "turn-secret", envDefault("turn-secret", ""), "shared secret of the TURN REST credentials each participant gets (coturn's static-auth-secret); needed with --turn-external, else random [PODIUM_TURN_SECRET]")
	fs.StringVar(&f.turnHost, "turn-host", envDefault("turn-host", ""), "host name of the embedded TURN server in clients' URLs (TURN over TLS checks it against the certificate); default --tls-domain, else the node IP, else --bind [PODIUM_TURN_HOST]")
	fs.StringVar(&f.turnExternal, "turn-external", envDefault("turn-external", ""), "TURN or STUN servers clients are told of besides (comma-separated URLs, e.g. turn:turn.example.com:3478?transport=udp); TURN ones share --turn-secret [PODIUM_TURN_EXTERNAL]")
	fs.StringVar(&f.relayPorts, "turn-relay-ports", envDefault("turn-relay-ports", ""), "port range of the embedded TURN server's relay sockets, e.g. 50000-50999, for a firewall; default any [PODIUM_TURN_RELAY_PORTS]")
	fs.DurationVar(&f.turnTTL, "turn-credential-ttl", 24*time.Hour, "how long a participant's TURN credentials stay good; must outlast a session")
}

// check applies the rules of the network flags, each error naming its flag.
func (f *netFlags) check() error {
	for _, p := range []struct {
		name string
		v    int
	}{{"turn-port", f.turnPort}, {"turn-tls-port", f.turnTLSPort}} {
		if p.v < -1 || p.v > 65535 {
			return fmt.Errorf("--%s %d: want a port, 1-65535, 0 for a free one, -1 for off", p.name, p.v)
		}
	}
	ways := 0
	for _, on := range []bool{f.tlsCert != "" || f.tlsKey != "", f.tlsDomain != "", f.devTLS} {
		if on {
			ways++
		}
	}
	switch {
	case ways > 1:
		return errors.New("--tls-cert, --tls-domain and --dev-tls: choose one")
	case (f.tlsCert == "") != (f.tlsKey == ""):
		return errors.New("--tls-cert and --tls-key go together")
	case f.tlsDomain != "" && (strings.Contains(f.tlsDomain, "/") || !strings.Contains(f.tlsDomain, ".") || net.ParseIP(f.tlsDomain) != nil):
		return fmt.Errorf("--tls-domain %q: want a domain name, e.g. media.example.com", f.tlsDomain)
	case f.turnTLSPort >= 0 && ways == 0:
		return errors.New("--turn-tls-port needs a certificate: --tls-cert, --tls-domain or --dev-tls")
	case f.turnTTL <= 0:
		return fmt.Errorf("--turn-credential-ttl %v: want more than 0", f.turnTTL)
	}
	if _, _, err := parsePortRange(f.relayPorts); err != nil {
		return fmt.Errorf("--turn-relay-ports: %w", err)
	}
	for s := range listItems(f.stunServers) {
		if _, _, err := net.SplitHostPort(s); err != nil {
			return fmt.Errorf("--stun-servers %q: want host:port", s)
		}
	}
	turnURL := false
	for u := range listItems(f.turnExternal) {
		uri, err := stun.ParseURI(u)
		if err != nil {
			return fmt.Errorf("--turn-external %q: %v", u, err)
		}
		turnURL = turnURL || uri.Scheme == stun.SchemeTypeTURN || uri.Scheme == stun.SchemeTypeTURNS
	}
	if turnURL && f.turnSecret == "" {
		return errors.New("--turn-external TURN servers need --turn-secret, the secret they share")
	}
	return nil
}

// parsePortRange reads "min-max"; "" is no range.
func parsePortRange(s string) (lo, hi int, err error) {
	if s == "" {
		return 0, 0, nil
	}
	a, b, ok := strings.Cut(s, "-")
	lo, err1 := strconv.Atoi(strings.TrimSpace(a))
	hi, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil || lo < 1 || lo > hi || hi > 65535 {
		return 0, 0, fmt.Errorf("%q: want min-max within 1-65535", s)
	}
	return lo, hi, nil
}

// apply puts the checked network flags in the node's config.
func (f *netFlags) apply(cfg *server.Config) {
	cfg.TLS = server.TLS{CertFile: f.tlsCert, KeyFile: f.tlsKey, Domain: f.tlsDomain, ACMECacheDir: f.acmeCache,
		ACMEEmail: f.acmeEmail, Dev: f.devTLS}
	for s := range listItems(f.stunServers) {
		cfg.STUNServers = append(cfg.STUNServers, s)
	}
	lo, hi, _ := parsePortRange(f.relayPorts)
	cfg.TURN = server.TURN{
		Embedded: f.turnPort >= 0 || f.turnTLSPort >= 0,
		UDPPort:  f.turnPort, TCPPort: f.turnPort, TLSPort: f.turnTLSPort, RelayPortMin: lo, RelayPortMax: hi,
		Host: f.turnHost, Secret: f.turnSecret, CredentialTTL: f.turnTTL,
	}
	for u := range listItems(f.turnExternal) {
		cfg.TURN.External = append(cfg.TURN.External, u)
	}
}

// logNetwork says where TURN listens and, for a dev certificate, its fingerprint, which a
// person compares with what the browser's warning shows.
func logNetwork(logger *slog.Logger, node *server.Node) {
	if t := node.TURNServer(); t != nil {
		logger.Info("TURN serving", "udp", t.UDPAddr(), "tcp", t.TCPAddr(), "tls", t.TLSAddr())
	}
	if c := node.TLSCertificate(); c != nil {
		logger.Warn("serving a self-signed dev certificate: browsers warn before they trust it",
			"sha256", strings.ReplaceAll(fmt.Sprintf("% X", sha256.Sum256(c.Raw)), " ", ":"), "names", append(c.DNSNames, ipStrings(c.IPAddresses)...))
	}
}

func ipStrings(ips []net.IP) []string {
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = ip.String()
	}
	return out
}
