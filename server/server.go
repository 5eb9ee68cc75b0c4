// Package server assembles one Podium node: the media engine, the room directory, the
// signalling server and the embedded web app, listening on the configured ports. The binary
// (cmd/podium), the load tester's --embedded mode and the integration tests all start it here.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/room"
	"github.com/podium-sfu/podium/server/connlimit"
	"github.com/podium-sfu/podium/serverapi"
	"github.com/podium-sfu/podium/sfu"
	"github.com/podium-sfu/podium/signaling"
	"github.com/podium-sfu/podium/turnserver"
	"github.com/podium-sfu/podium/web"
	"github.com/podium-sfu/podium/webhook"
)

// Version is the server version reported in `joined`; set at build time with -ldflags -X.
var Version = "0.1.0-dev"

// Config is everything a node needs. The zero value is a working node in dev mode on 127.0.0.1,
// on free ports (Node tells which).
type Config struct {
	Bind string // address of HTTP and media sockets, default 127.0.0.1
	// Ports follow one rule across Podium (sfu.Config, these, `podium serve`'s flags): a port
	// number, 0 for a free port the system picks, -1 for off (ICE-TCP only: HTTP and UDP
	// cannot be off). `podium serve` defaults to DefaultHTTPPort and its neighbours.
	HTTPPort int
	UDPPort  int
	TCPPort  int
	NodeIPs  []string
	Keys     auth.KeyProvider // empty: dev mode with generated keys
	// DevAllowRemote lets dev mode run on a non-loopback Bind and serve dev tokens to other
	// machines: anyone who reaches the server can then mint any token. Start refuses dev mode
	// on such a Bind without it.
	DevAllowRemote bool
	// DevKeyFile keeps dev mode's key pair across restarts, so the pages open on a restarted
	// server keep working; empty: a new pair each start.
	DevKeyFile string
	// AllowedAppURLs are the signalling servers (ws:// or wss:// origins) the embedded browser
	// app may connect to with ?url=, besides its own origin.
	AllowedAppURLs []string
	Room           room.Config
	Media          sfu.Config // BindIP/ports/NodeIPs are filled from the fields above
	HTTP           HTTPLimits
	Webhooks       Webhooks
	// NodeIPAuto adds the address STUN servers (STUNServers, default publicip.DefaultServers)
	// see this node at to NodeIPs, at Start: the public address behind a 1:1 NAT.
	NodeIPAuto  bool
	STUNServers []string
	TLS         TLS     // HTTPS and wss on the HTTP port (tls.go)
	TURN        TURN    // TURN servers for clients, embedded or external (turn.go)
	Cluster     Cluster // other nodes over NATS (cluster.go); zero: a lone node
	// ResumeWindow is how long a participant whose SDK can resume outlives a lost WebSocket
	// (default signaling.DefaultResumeWindow).
	ResumeWindow time.Duration
	Logger       *slog.Logger
}

// HTTPLimits bound what clients can hold of the HTTP listener (docs/security.md). Zero
// fields take the defaults below.
type HTTPLimits struct {
	ReadHeaderTimeout time.Duration // default 10 s: a request's line and headers
	ReadTimeout       time.Duration // default 30 s: a whole request, body included
	// WriteTimeout bounds writing a response (default 30 s). A WebSocket is unaffected once
	// upgraded: the upgrade clears the connection's deadlines and the session sets its own.
	WriteTimeout   time.Duration
	IdleTimeout    time.Duration // default 60 s: a keep-alive connection between requests
	MaxHeaderBytes int           // default 32 KiB: an 8 KiB token in the query plus cookies
	// MaxConns caps the open connections (default 4096; -1: none). Either way it is lowered to
	// three quarters of RLIMIT_NOFILE, so that the listener refuses connections before accept
	// runs out of descriptors. At the cap a new connection closes the longest-idle keep-alive.
	MaxConns int
	// MaxConnsPerIP caps one client address's connections (an IPv6 /64 counts as one; default
	// 64; -1: none). Behind a reverse proxy on the same host every client has its address.
	MaxConnsPerIP int
}

func (l HTTPLimits) withDefaults() HTTPLimits {
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&l.ReadHeaderTimeout, 10*time.Second)
	def(&l.ReadTimeout, 30*time.Second)
	def(&l.WriteTimeout, 30*time.Second)
	def(&l.IdleTimeout, 60*time.Second)
	if l.MaxHeaderBytes == 0 {
		l.MaxHeaderBytes = 32 << 10
	}
	if l.MaxConns == 0 {
		l.MaxConns = 4096
	}
	if l.MaxConnsPerIP == 0 {
		l.MaxConnsPerIP = 64
	}
	return l
}

// Node is a running Podium server.
type Node struct {
	cfg      Config
	engine   *sfu.Engine
	rooms    *room.Manager
	signal   *signaling.Server
	api      *serverapi.API
	http     *http.Server
	listener net.Listener
	conns    *connlimit.Listener
	hooks    *webhook.Notifier
	tls      *nodeTLS           // nil: plain HTTP
	turn     *turnserver.Server // nil: no embedded TURN
	cluster  *clusterNode       // nil: a lone node
	served   chan error
	stopOnce sync.Once
	stopErr  error
	// DevKey and DevSecret are set in dev mode (no keys configured).
	DevKey, DevSecret string
}

// The ports `podium serve` uses unless told otherwise.
const (
	DefaultHTTPPort = 7880
	DefaultTCPPort  = 7881
	DefaultUDPPort  = 7882
)

// checkPorts applies the one port rule: a port, 0 (any free port) or, for ICE-TCP, -1 (off).
func checkPorts(cfg Config) error {
	for _, p := range []struct {
		name   string
		v, min int
	}{{"HTTPPort", cfg.HTTPPort, 0}, {"UDPPort", cfg.UDPPort, 0}, {"TCPPort", cfg.TCPPort, -1}} {
		if p.v < p.min || p.v > 65535 {
			return fmt.Errorf("server: %s %d: want 1-65535, 0 for a free port%s", p.name, p.v, map[bool]string{true: ", -1 for off"}[p.min < 0])
		}
	}
	return nil
}

// check refuses what would be unsafe to serve, before any socket opens, and returns the app's
// allowed URLs normalised.
func (cfg Config) check() ([]string, error) {
	// Keys given in code skip --keys's parsing: a short secret makes tokens forgeable offline.
	if err := cfg.Keys.Validate(); err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	if err := checkPorts(cfg); err != nil {
		return nil, err
	}
	dev := len(cfg.Keys) == 0
	if dev && !loopbackBind(cfg.Bind) && !cfg.DevAllowRemote {
		return nil, fmt.Errorf("dev mode (no keys) on %s would hand admin tokens to the network: configure keys, or allow it explicitly (--dev-allow-remote)", cfg.Bind)
	}
	if dev && cfg.DevAllowRemote {
		cfg.Logger.Warn("DEV MODE OPEN TO THE NETWORK: anyone who can reach this server can mint any token, admin included",
			"bind", cfg.Bind)
	}
	if err := errors.Join(cfg.TLS.check(), cfg.TURN.check()); err != nil {
		return nil, err
	}
	return appOrigins(cfg.AllowedAppURLs)
}

// appOrigins normalises the app's allowed URLs (serverapi.AppOrigin).
func appOrigins(raw []string) ([]string, error) {
	out := make([]string, 0, len(raw))
	for _, r := range raw {
		o, err := serverapi.AppOrigin(r)
		if err != nil {
			return nil, fmt.Errorf("allowed app URL %w", err)
		}
		out = append(out, o)
	}
	return out, nil
}

// loopbackBind reports whether bind only listens on this machine (the media engine wants an IP).
func loopbackBind(bind string) bool {
	ip := net.ParseIP(bind)
	return ip != nil && ip.IsLoopback()
}

// Start opens every socket and serves until Shutdown.
func Start(cfg Config) (*Node, error) {
	if cfg.Bind == "" {
		cfg.Bind = "127.0.0.1"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	appURLs, err := cfg.check()
	if err != nil {
		return nil, err
	}
	if cfg.NodeIPs, err = discoverNodeIP(cfg); err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, served: make(chan error, 1)}
	if cfg.TLS.on() {
		if n.tls, err = cfg.TLS.tlsConfig(devNames(cfg.Bind, cfg.NodeIPs)); err != nil {
			return nil, err
		}
	}
	keys := cfg.Keys
	dev := len(keys) == 0
	if dev {
		if n.DevKey, n.DevSecret, err = devKeys(cfg.DevKeyFile); err != nil {
			return nil, err
		}
		keys = auth.KeyProvider{n.DevKey: n.DevSecret}
	}
	media := cfg.Media
	media.BindIP, media.NodeIPs, media.Logger = cfg.Bind, cfg.NodeIPs, cfg.Logger.With("component", "sfu")
	media.BandwidthEstimation = media.BandwidthEstimation || cfg.Room.BandwidthEstimation
	media.UDPPort, media.TCPPort = cfg.UDPPort, cfg.TCPPort
	if n.engine, err = sfu.NewEngine(media); err != nil {
		return nil, err
	}
	iceServersFor, err := n.startTURN()
	if err != nil {
		n.engine.Close()
		return nil, err
	}
	reg := prometheus.NewRegistry()
	if n.hooks, err = startWebhooks(cfg, keys, reg); err != nil {
		n.engine.Close()
		return nil, err
	}
	rc := cfg.Room
	rc.ServerVersion, rc.Logger = Version, cfg.Logger.With("component", "room")
	rc.OnEvent = func(e room.Event) { n.hooks.Notify(webhookEvent(e)) }
	rc.ICEServersFor = iceServersFor
	rc.Redirect = n.redirect // a draining cluster node's participants rejoin elsewhere
	n.rooms = room.NewManager(rc, n.engine)
	n.signal = signaling.NewServer(signaling.Config{
		Keys: keys, Logger: cfg.Logger.With("component", "signaling"), Registry: reg, ResumeWindow: cfg.ResumeWindow,
	}, n.rooms)
	n.api = serverapi.New(serverapi.Config{
		Keys: keys, DevMode: dev, DevAllowRemote: cfg.DevAllowRemote, AppURLs: appURLs, Web: web.FS(),
		RTC: n.signal.Handler(), Logger: cfg.Logger.With("component", "api"), Registry: reg,
	}, n.rooms)
	if err := n.listen(reg); err != nil {
		n.closeTURN()
		n.engine.Close()
		return nil, err
	}
	if err := n.startCluster(reg); err != nil {
		_ = n.listener.Close()
		n.closeTURN()
		n.engine.Close()
		return nil, err
	}
	go func() { n.served <- n.http.Serve(n.listener) }() // joined in Shutdown
	return n, nil
}

// listen opens the HTTP listener within the connection caps and builds the HTTP server.
func (n *Node) listen(reg *prometheus.Registry) error {
	cfg, lim := n.cfg, n.cfg.HTTP.withDefaults()
	addr := net.JoinHostPort(cfg.Bind, strconv.Itoa(cfg.HTTPPort))
	raw, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("http: %w", err)
	}
	maxConns := connlimit.Fit(lim.MaxConns, connlimit.NoFile())
	if lim.MaxConns > 0 && maxConns < lim.MaxConns {
		cfg.Logger.Warn("HTTP connection cap lowered to fit the descriptor limit (raise ulimit -n for more)",
			"max_conns", maxConns, "wanted", lim.MaxConns, "rlimit_nofile", connlimit.NoFile())
	}
	n.conns = connlimit.New(raw, connlimit.Config{Max: maxConns, MaxPerKey: max(lim.MaxConnsPerIP, 0),
		Rejected: rejectLogger(cfg.Logger)})
	n.listener = n.conns
	n.http = &http.Server{
		Handler:           n.api.Handler(),
		ReadHeaderTimeout: lim.ReadHeaderTimeout,
		ReadTimeout:       lim.ReadTimeout,
		WriteTimeout:      lim.WriteTimeout,
		IdleTimeout:       lim.IdleTimeout,
		MaxHeaderBytes:    lim.MaxHeaderBytes,
		// Idle keep-alives are what the listener may close to admit a new client at its cap.
		ConnState: func(c net.Conn, s http.ConnState) {
			if tc, ok := c.(*tls.Conn); ok {
				c = tc.NetConn() // the listener knows its own connection
			}
			n.conns.SetIdle(c, s == http.StateIdle)
		},
	}
	if n.tls != nil {
		n.listener = tls.NewListener(n.conns, n.tls.config)
		// Scanners' failed handshakes would fill the log at net/http's level.
		n.http.ErrorLog = slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug)
	}
	registerConnMetrics(reg, n.conns)
	return nil
}

// rejectLogger warns of the first refusal for each cap (with what to do) and keeps the rest at
// Debug: a flood must not flood the log too. The metrics count every one.
func rejectLogger(logger *slog.Logger) func(net.Addr, error) {
	var warnedCap, warnedPerIP atomic.Bool
	return func(from net.Addr, why error) {
		warned, hint := &warnedCap, "raise --max-conns (and ulimit -n)"
		if errors.Is(why, connlimit.ErrPerKeyCap) {
			warned, hint = &warnedPerIP, "behind a reverse proxy on this host, or for load tests from one machine, raise --max-conns-per-ip or set it to 0"
		}
		level := slog.LevelDebug
		if warned.CompareAndSwap(false, true) {
			level = slog.LevelWarn
		}
		logger.Log(context.Background(), level, "HTTP connection refused", "from", from.String(), "reason", why.Error(), "hint", hint)
	}
}

func registerConnMetrics(reg *prometheus.Registry, l *connlimit.Listener) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "podium_http_connections", Help: "Open HTTP and WebSocket connections."},
			func() float64 { return float64(l.Stats().Open) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "podium_http_idle_connections", Help: "Keep-alive connections between requests."},
			func() float64 { return float64(l.Stats().Idle) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "podium_http_connections_refused_total",
			Help: "Connections closed at accept: over the cap with none idle, or over the per-IP cap.", ConstLabels: prometheus.Labels{"cap": "global"}},
			func() float64 { return float64(l.Stats().RejectedTotal) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "podium_http_connections_refused_total",
			Help: "Connections closed at accept: over the cap with none idle, or over the per-IP cap.", ConstLabels: prometheus.Labels{"cap": "per_ip"}},
			func() float64 { return float64(l.Stats().RejectedPerKey) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "podium_http_idle_connections_evicted_total",
			Help: "Idle keep-alive connections closed to admit a new one at the cap."},
			func() float64 { return float64(l.Stats().Evicted) }),
	)
}

// URL is the WebSocket base URL clients connect to, e.g. ws://127.0.0.1:7880.
func (n *Node) URL() string { return n.scheme("ws") + "://" + n.listener.Addr().String() }

// HTTPURL is the HTTP base URL, e.g. http://127.0.0.1:7880.
func (n *Node) HTTPURL() string { return n.scheme("http") + "://" + n.listener.Addr().String() }

// scheme is plain, or plain+"s" with TLS.
func (n *Node) scheme(plain string) string {
	if n.tls != nil {
		return plain + "s"
	}
	return plain
}

func (n *Node) closeTURN() error {
	if n.turn == nil {
		return nil
	}
	return n.turn.Close()
}

// Rooms is the node's room directory.
func (n *Node) Rooms() *room.Manager { return n.rooms }

// Engine is the node's media engine.
func (n *Node) Engine() *sfu.Engine { return n.engine }

// Shutdown sends every participant `leave` (server_shutdown), closes the sessions and sockets.
// Calling it again returns the first call's result.
func (n *Node) Shutdown(ctx context.Context) error {
	n.stopOnce.Do(func() {
		n.drain() // in a cluster: no more joins here, and where the participants go
		errs := []error{n.signal.Shutdown(ctx), n.http.Shutdown(ctx)}
		n.cluster.close() // after the rooms: the others hear the goodbye, not each leave
		// After the rooms, so that their last events go out too; a receiver that is down gets
		// a short grace, not the whole shutdown.
		hctx, cancel := context.WithTimeout(ctx, webhookGrace)
		n.hooks.Close(hctx)
		cancel()
		if err := <-n.served; !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
		errs = append(errs, n.closeTURN(), n.engine.Close())
		n.stopErr = errors.Join(errs...)
	})
	return n.stopErr
}
