// Package server assembles one Podium node: the media engine, the room directory, the
// signalling server and the embedded web app, listening on the configured ports. The binary
// (cmd/podium), the load tester's --embedded mode and the integration tests all start it here.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/room"
	"github.com/podium-sfu/podium/sfu"
	"github.com/podium-sfu/podium/signaling"
	"github.com/podium-sfu/podium/web"
)

// Version is the server version reported in `joined`; set at build time with -ldflags -X.
var Version = "0.1.0-dev"

// Config is everything a node needs. The zero value (plus Keys or DevMode) is a working node on
// 127.0.0.1 with the default ports.
type Config struct {
	Bind     string // address of HTTP and media sockets, default 127.0.0.1
	HTTPPort int    // default 7880; -1 picks a free port (tests)
	UDPPort  int    // default 7882; -1 picks a free port
	TCPPort  int    // default 7881; -1 picks a free port; -2 disables ICE-TCP
	NodeIPs  []string
	Keys     auth.KeyProvider // empty: dev mode with generated keys
	Room     room.Config
	Media    sfu.Config // BindIP/ports/NodeIPs are filled from the fields above
	Logger   *slog.Logger
}

// Node is a running Podium server.
type Node struct {
	cfg      Config
	engine   *sfu.Engine
	rooms    *room.Manager
	signal   *signaling.Server
	http     *http.Server
	listener net.Listener
	served   chan error
	stopOnce sync.Once
	stopErr  error
	// DevKey and DevSecret are set in dev mode (no keys configured).
	DevKey, DevSecret string
}

func port(p, def int) int {
	switch {
	case p == 0:
		return def
	case p == -1:
		return 0
	}
	return p
}

// Start opens every socket and serves until Shutdown.
func Start(cfg Config) (*Node, error) {
	if cfg.Bind == "" {
		cfg.Bind = "127.0.0.1"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	// Keys given in code skip --keys's parsing: a short secret makes tokens forgeable offline.
	if err := cfg.Keys.Validate(); err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	n := &Node{cfg: cfg, served: make(chan error, 1)}
	keys := cfg.Keys
	dev := len(keys) == 0
	if dev {
		n.DevKey, n.DevSecret = auth.GenerateDevKeys()
		keys = auth.KeyProvider{n.DevKey: n.DevSecret}
	}
	media := cfg.Media
	media.BindIP, media.NodeIPs, media.Logger = cfg.Bind, cfg.NodeIPs, cfg.Logger.With("component", "sfu")
	media.BandwidthEstimation = media.BandwidthEstimation || cfg.Room.BandwidthEstimation
	media.UDPPort = port(cfg.UDPPort, 7882)
	media.TCPPort = port(cfg.TCPPort, 7881)
	if cfg.TCPPort == -2 {
		media.TCPPort = -1
	}
	var err error
	if n.engine, err = sfu.NewEngine(media); err != nil {
		return nil, err
	}
	rc := cfg.Room
	rc.ServerVersion, rc.Logger = Version, cfg.Logger.With("component", "room")
	n.rooms = room.NewManager(rc, n.engine)
	reg := prometheus.NewRegistry()
	n.signal = signaling.NewServer(signaling.Config{
		Keys: keys, DevMode: dev, Web: web.FS(), Logger: cfg.Logger.With("component", "signaling"), Registry: reg,
	}, n.rooms)
	addr := net.JoinHostPort(cfg.Bind, strconv.Itoa(port(cfg.HTTPPort, 7880)))
	if n.listener, err = net.Listen("tcp", addr); err != nil {
		n.engine.Close()
		return nil, fmt.Errorf("http: %w", err)
	}
	n.http = &http.Server{Handler: n.signal.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { n.served <- n.http.Serve(n.listener) }() // joined in Shutdown
	return n, nil
}

// URL is the WebSocket base URL clients connect to, e.g. ws://127.0.0.1:7880.
func (n *Node) URL() string { return "ws://" + n.listener.Addr().String() }

// HTTPURL is the HTTP base URL, e.g. http://127.0.0.1:7880.
func (n *Node) HTTPURL() string { return "http://" + n.listener.Addr().String() }

// Rooms is the node's room directory.
func (n *Node) Rooms() *room.Manager { return n.rooms }

// Engine is the node's media engine.
func (n *Node) Engine() *sfu.Engine { return n.engine }

// Shutdown sends every participant `leave` (server_shutdown), closes the sessions and sockets.
// Calling it again returns the first call's result.
func (n *Node) Shutdown(ctx context.Context) error {
	n.stopOnce.Do(func() {
		errs := []error{n.signal.Shutdown(ctx), n.http.Shutdown(ctx)}
		if err := <-n.served; !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
		errs = append(errs, n.engine.Close())
		n.stopErr = errors.Join(errs...)
	})
	return n.stopErr
}
