package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/room"
	"github.com/podium-sfu/podium/server"
	"github.com/podium-sfu/podium/serverapi"
)

func versionString() string { return "podium " + server.Version }

// envName is the variable that sets a flag's default: PODIUM_<NAME>.
func envName(name string) string {
	return "PODIUM_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// envDefault lets PODIUM_<NAME> set a flag's default.
func envDefault(name, def string) string {
	if v, ok := os.LookupEnv(envName(name)); ok {
		return v
	}
	return def
}

// envInts reads numeric defaults from the environment and keeps what it could not read: a typo
// in PODIUM_HTTP_PORT must stop the server, not quietly give the default.
type envInts []error

func (e *envInts) get(name string, def int) int {
	v := envDefault(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		*e = append(*e, fmt.Errorf("%s=%q: not a whole number", envName(name), v))
		return def
	}
	return n
}

// getBool reads a boolean default (1, 0, true, false, ...) from the environment, as get does a
// number.
func (e *envInts) getBool(name string, def bool) bool {
	v := envDefault(name, "")
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		*e = append(*e, fmt.Errorf("%s=%q: want 1 or 0 (true or false)", envName(name), v))
		return def
	}
	return b
}

// serveOptions are `podium serve`'s flags, checked and turned into a node's config.
type serveOptions struct {
	cfg   server.Config // Logger is set by serve
	level slog.Level
	json  bool // log as JSON objects rather than text
	pprof string
}

// serveFlags are the flags as given, before checking.
type serveFlags struct {
	bind, nodeIP, keys, logLevel, logFormat, pprof, appURLs string
	httpPort, udpPort, tcpPort, maxParticipants, udpReaders int
	udpBuffer, maxConns, maxConnsPerIP                      int
	emptyTimeout                                            time.Duration
	bwe, devAllowRemote, fastPath, remoteUnmute             bool
	webhookURLs, webhookKey                                 string
	netFlags                                                // serve_net.go
	clusterFlags                                            // serve_cluster.go
}

func defineServeFlags(fs *flag.FlagSet, env *envInts) *serveFlags {
	f := &serveFlags{}
	fs.StringVar(&f.bind, "bind", envDefault("bind", "127.0.0.1"), "IP address to listen on (HTTP, WebSocket and media) [PODIUM_BIND]")
	fs.IntVar(&f.httpPort, "http-port", env.get("http-port", server.DefaultHTTPPort), "HTTP and WebSocket port; 0: a free one [PODIUM_HTTP_PORT]")
	fs.IntVar(&f.udpPort, "udp-port", env.get("udp-port", server.DefaultUDPPort), "the one UDP port for all media (ICE UDP mux); 0: a free one [PODIUM_UDP_PORT]")
	fs.IntVar(&f.tcpPort, "tcp-port", env.get("tcp-port", server.DefaultTCPPort), "ICE over TCP port; 0: a free one; -1 turns ICE-TCP off [PODIUM_TCP_PORT]")
	fs.StringVar(&f.nodeIP, "node-ip", envDefault("node-ip", ""), "IP addresses put in ICE candidates (comma-separated), e.g. the public IP; auto asks --stun-servers for it [PODIUM_NODE_IP]")
	fs.StringVar(&f.keys, "keys", envDefault("keys", ""), "API keys as key:secret[,key:secret], secrets of 32 bytes or more; none = dev mode [PODIUM_KEYS]")
	fs.IntVar(&f.maxParticipants, "max-participants", env.get("max-participants", 100), "participants per room, at least 1 [PODIUM_MAX_PARTICIPANTS]")
	fs.DurationVar(&f.emptyTimeout, "empty-timeout", 5*time.Minute, "close a room this long after its last participant left (more than 0)")
	fs.BoolVar(&f.bwe, "bwe", envDefault("bwe", "1") != "0", "estimate each subscriber's downlink and budget its layers by it; --bwe=false (trusted LANs) saves a few percent of CPU [PODIUM_BWE=0 turns it off]")
	fs.IntVar(&f.udpReaders, "udp-readers", env.get("udp-readers", 0), "sockets sharing the UDP port (SO_REUSEPORT, Linux), each forwarding what it receives on its own goroutine; 0: one per core, up to 8 [PODIUM_UDP_READERS]")
	fs.StringVar(&f.logLevel, "log-level", envDefault("log-level", "info"), "debug, info, warn or error [PODIUM_LOG_LEVEL]")
	fs.StringVar(&f.logFormat, "log-format", envDefault("log-format", "text"), "text (key=value lines) or json (one object a line, for log pipelines) [PODIUM_LOG_FORMAT]")
	fs.IntVar(&f.udpBuffer, "udp-buffer", 4<<20, "kernel receive/send buffer of the media socket in bytes (capped by net.core.rmem_max); 0 keeps the system default")
	fs.StringVar(&f.pprof, "pprof", "", "serve Go's profiler on this host:port, e.g. 127.0.0.1:6060 (off by default)")
	fs.IntVar(&f.maxConns, "max-conns", env.get("max-conns", 4096), "open HTTP and WebSocket connections at most, lowered to 3/4 of ulimit -n; at the cap the longest-idle keep-alive is closed for a new one, else the new one is [PODIUM_MAX_CONNS]")
	fs.IntVar(&f.maxConnsPerIP, "max-conns-per-ip", env.get("max-conns-per-ip", 64), "open connections per client IP (IPv6: per /64); 0: no per-IP cap, e.g. behind a reverse proxy on this host [PODIUM_MAX_CONNS_PER_IP]")
	fs.StringVar(&f.appURLs, "allowed-app-urls", envDefault("allowed-app-urls", ""), "signalling servers (ws:// or wss:// origins, comma-separated) the web app may join with ?url= besides this one [PODIUM_ALLOWED_APP_URLS]")
	fs.BoolVar(&f.fastPath, "fast-path", env.getBool("fast-path", true), "encrypt, send and receive media on Podium's own path instead of pion's (much less CPU per packet); --fast-path=false leaves it all to pion [PODIUM_FAST_PATH]")
	fs.StringVar(&f.webhookURLs, "webhook-urls", envDefault("webhook-urls", ""), "post room and participant events to these URLs (comma-separated, http:// or https://), signed with an API key's secret (docs/backend.md) [PODIUM_WEBHOOK_URLS]")
	fs.StringVar(&f.webhookKey, "webhook-key", envDefault("webhook-key", ""), "the API key whose secret signs the webhooks; default the first key in order [PODIUM_WEBHOOK_KEY]")
	fs.BoolVar(&f.remoteUnmute, "allow-remote-unmute", env.getBool("allow-remote-unmute", false), "let the server API unmute a participant's track (it may always mute) [PODIUM_ALLOW_REMOTE_UNMUTE]")
	fs.BoolVar(&f.devAllowRemote, "dev-allow-remote", false, "in dev mode (no --keys), allow a non-loopback --bind and serve dev tokens to other machines: anyone who reaches the server can mint any token")
	defineNetFlags(fs, env, &f.netFlags)
	defineClusterFlags(fs, &f.clusterFlags)
	return f
}

// parseServe reads and checks serve's flags; every error names the flag (or variable) at fault.
func parseServe(args []string) (*serveOptions, error) {
	_, f, src, err := loadServeFlags(args)
	if err != nil {
		return nil, err
	}
	if err := f.check(); err != nil {
		return nil, src.locate(err)
	}
	o, err := f.options()
	return o, src.locate(err)
}

// loadServeFlags reads serve's flags from the command line, the environment and the config
// file, in that order of precedence, and says where each came from.
func loadServeFlags(args []string) (*flag.FlagSet, *serveFlags, flagSource, error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var env envInts
	f := defineServeFlags(fs, &env)
	configPath := fs.String("config", envDefault("config", ""), "a YAML file of flag values by flag name (http-port: 7880); the command line and PODIUM_* variables override it [PODIUM_CONFIG]")
	if err := parseFlags(fs, args); err != nil {
		return nil, nil, nil, err
	}
	if fs.NArg() > 0 {
		// flag stops at the first non-flag: whatever follows it would be silently ignored.
		return nil, nil, nil, fmt.Errorf("serve: unexpected argument %q (quote values that contain spaces)", fs.Arg(0))
	}
	if err := errors.Join(env...); err != nil {
		return nil, nil, nil, err
	}
	src := sourcesBefore(fs)
	if *configPath != "" {
		values, err := readConfig(*configPath)
		if err != nil {
			return nil, nil, nil, err
		}
		if err := applyConfig(fs, *configPath, values, src); err != nil {
			return nil, nil, nil, err
		}
	}
	return fs, f, src, nil
}

// check applies the rules of each numeric and address flag.
func (f *serveFlags) check() error {
	ports := []struct {
		name string
		v    int
		min  int // -1 where the port can be off
	}{{"http-port", f.httpPort, 0}, {"udp-port", f.udpPort, 0}, {"tcp-port", f.tcpPort, -1}}
	for _, p := range ports {
		if p.v < p.min || p.v > 65535 {
			off := ""
			if p.min < 0 {
				off = ", -1 for off"
			}
			return fmt.Errorf("--%s %d: want a port, 1-65535, 0 for a free one%s", p.name, p.v, off)
		}
	}
	atLeast := []struct {
		name   string
		v, min int
	}{{"max-participants", f.maxParticipants, 1}, {"udp-readers", f.udpReaders, 0}, {"udp-buffer", f.udpBuffer, 0},
		{"max-conns", f.maxConns, 1}, {"max-conns-per-ip", f.maxConnsPerIP, 0}}
	for _, n := range atLeast {
		if n.v < n.min {
			return fmt.Errorf("--%s %d: want %d or more", n.name, n.v, n.min)
		}
	}
	if f.emptyTimeout <= 0 {
		return fmt.Errorf("--empty-timeout %v: want more than 0", f.emptyTimeout)
	}
	if net.ParseIP(f.bind) == nil {
		return fmt.Errorf("--bind %q: want an IP address, e.g. 127.0.0.1 or 0.0.0.0", f.bind)
	}
	if f.pprof != "" {
		if _, _, err := net.SplitHostPort(f.pprof); err != nil {
			return fmt.Errorf("--pprof %q: want host:port (%v)", f.pprof, err)
		}
	}
	return errors.Join(f.netFlags.check(), f.clusterFlags.check())
}

// options turns checked flags into a node's config, parsing the lists and the log level.
func (f *serveFlags) options() (*serveOptions, error) {
	o := &serveOptions{pprof: f.pprof}
	if err := o.level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	switch f.logFormat {
	case "text":
	case "json":
		o.json = true
	default:
		return nil, fmt.Errorf("--log-format %q: want text or json", f.logFormat)
	}
	o.cfg = server.Config{
		Bind: f.bind, HTTPPort: f.httpPort, UDPPort: f.udpPort, TCPPort: f.tcpPort,
		Room: room.Config{MaxParticipants: f.maxParticipants, EmptyTimeout: f.emptyTimeout, BandwidthEstimation: f.bwe,
			AllowRemoteUnmute: f.remoteUnmute},
		Webhooks:       server.Webhooks{Key: f.webhookKey},
		HTTP:           server.HTTPLimits{MaxConns: f.maxConns, MaxConnsPerIP: f.maxConnsPerIP},
		DevAllowRemote: f.devAllowRemote,
	}
	if f.keys == "" {
		// Dev mode keeps its keys across restarts, so that open pages and their tokens go on.
		if dir, err := os.UserCacheDir(); err == nil {
			o.cfg.DevKeyFile = filepath.Join(dir, "podium", "dev-key")
		}
	}
	for u := range listItems(f.webhookURLs) {
		if parsed, err := url.Parse(u); err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
			return nil, fmt.Errorf("--webhook-urls %q: want http:// or https:// and a host", u)
		}
		o.cfg.Webhooks.URLs = append(o.cfg.Webhooks.URLs, u)
	}
	if f.maxConnsPerIP == 0 {
		o.cfg.HTTP.MaxConnsPerIP = -1
	}
	o.cfg.Media.SocketBuffer, o.cfg.Media.UDPReaders = f.udpBuffer, f.udpReaders
	o.cfg.Media.DisableFastPath = !f.fastPath
	if f.udpBuffer == 0 {
		o.cfg.Media.SocketBuffer = -1 // the system default
	}
	f.netFlags.apply(&o.cfg)
	f.clusterFlags.apply(&o.cfg)
	for ip := range listItems(f.nodeIP) {
		if ip == "auto" {
			o.cfg.NodeIPAuto = true
			continue
		}
		if net.ParseIP(ip) == nil {
			return nil, fmt.Errorf("--node-ip %q: not an IP address", ip)
		}
		o.cfg.NodeIPs = append(o.cfg.NodeIPs, ip)
	}
	for u := range listItems(f.appURLs) {
		if _, err := serverapi.AppOrigin(u); err != nil {
			return nil, fmt.Errorf("--allowed-app-urls: %w", err)
		}
		o.cfg.AllowedAppURLs = append(o.cfg.AllowedAppURLs, u)
	}
	if f.keys != "" {
		kp, err := auth.ParseKeys(f.keys)
		if err != nil {
			return nil, fmt.Errorf("--keys: %w", err)
		}
		o.cfg.Keys = kp
	}
	return o, nil
}

// listItems yields the comma-separated items of s, trimmed; an empty item is yielded too, so
// that "1.2.3.4,,5.6.7.8" is an error rather than two addresses.
func listItems(s string) iter.Seq[string] {
	return func(yield func(string) bool) {
		if strings.TrimSpace(s) == "" {
			return
		}
		for item := range strings.SplitSeq(s, ",") {
			if !yield(strings.TrimSpace(item)) {
				return
			}
		}
	}
}

// logger is the server's logger: every record carries what it is about (room, participant,
// track) as attributes, which the JSON format keeps as fields.
func (o *serveOptions) logger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: o.level}
	if o.json {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func serve(args []string) error {
	o, err := parseServe(args)
	if err != nil {
		return err
	}
	logger := o.logger(os.Stderr)
	o.cfg.Logger = logger
	node, err := server.Start(o.cfg)
	if err != nil {
		return o.portInUse(err)
	}
	if o.pprof != "" {
		stopPprof, err := startPprof(o.pprof, logger)
		if err != nil {
			_ = node.Shutdown(context.Background())
			return fmt.Errorf("--pprof: %w", err)
		}
		defer stopPprof()
	}
	logger.Info("podium serving", "version", server.Version, "http", node.HTTPURL(),
		"udp", node.Engine().UDPAddr(), "tcp", node.Engine().TCPAddr())
	logNetwork(logger, node)
	if node.DevKey != "" {
		logger.Warn("no --keys given: DEV MODE — any page of this server can get any token from /api/dev/token; do not expose it")
		fmt.Fprintf(os.Stderr, "\n  dev API key:    %s\n  dev API secret: %s\n  open %s/ in a browser\n\n", node.DevKey, node.DevSecret, node.HTTPURL())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	stop()
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return node.Shutdown(sctx)
}
