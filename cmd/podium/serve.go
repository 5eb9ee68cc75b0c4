package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/room"
	"github.com/podium-sfu/podium/server"
)

func versionString() string { return "podium " + server.Version }

// envDefault lets PODIUM_<NAME> set a flag's default.
func envDefault(name, def string) string {
	if v, ok := os.LookupEnv("PODIUM_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))); ok {
		return v
	}
	return def
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(envDefault(name, strconv.Itoa(def))); err == nil {
		return v
	}
	return def
}

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	bind := fs.String("bind", envDefault("bind", "127.0.0.1"), "address to listen on (HTTP, WebSocket and media) [PODIUM_BIND]")
	httpPort := fs.Int("http-port", envInt("http-port", 7880), "HTTP and WebSocket port [PODIUM_HTTP_PORT]")
	udpPort := fs.Int("udp-port", envInt("udp-port", 7882), "the one UDP port for all media (ICE UDP mux) [PODIUM_UDP_PORT]")
	tcpPort := fs.Int("tcp-port", envInt("tcp-port", 7881), "ICE over TCP port, 0 disables [PODIUM_TCP_PORT]")
	nodeIP := fs.String("node-ip", envDefault("node-ip", ""), "address put in ICE candidates (comma-separated), e.g. the public IP [PODIUM_NODE_IP]")
	keys := fs.String("keys", envDefault("keys", ""), "API keys as key:secret[,key:secret]; none = dev mode [PODIUM_KEYS]")
	maxParticipants := fs.Int("max-participants", envInt("max-participants", 100), "participants per room [PODIUM_MAX_PARTICIPANTS]")
	emptyTimeout := fs.Duration("empty-timeout", 5*time.Minute, "close a room this long after its last participant left")
	bwe := fs.Bool("bwe", envDefault("bwe", "1") != "0", "estimate each subscriber's downlink and budget its layers by it; --bwe=false (trusted LANs) saves a few percent of CPU [PODIUM_BWE=0 turns it off]")
	udpReaders := fs.Int("udp-readers", envInt("udp-readers", 0), "sockets sharing the UDP port (SO_REUSEPORT, Linux), each forwarding what it receives on its own goroutine; 0: one per core, up to 8 [PODIUM_UDP_READERS]")
	logLevel := fs.String("log-level", envDefault("log-level", "info"), "debug, info, warn or error [PODIUM_LOG_LEVEL]")
	udpBuffer := fs.Int("udp-buffer", 4<<20, "kernel receive/send buffer of the media socket in bytes (capped by net.core.rmem_max); 0 keeps the system default")
	pprofAddr := fs.String("pprof", "", "serve Go's profiler on this address, e.g. 127.0.0.1:6060 (off by default)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		// flag stops at the first non-flag: whatever follows it would be silently ignored.
		return fmt.Errorf("serve: unexpected argument %q (quote values that contain spaces)", fs.Arg(0))
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	cfg := server.Config{
		Bind: *bind, HTTPPort: *httpPort, UDPPort: *udpPort, TCPPort: *tcpPort, Logger: logger,
		Room: room.Config{MaxParticipants: *maxParticipants, EmptyTimeout: *emptyTimeout, BandwidthEstimation: *bwe},
	}
	if *tcpPort == 0 {
		cfg.TCPPort = -2
	}
	cfg.Media.SocketBuffer = *udpBuffer
	cfg.Media.UDPReaders = *udpReaders
	if *udpBuffer <= 0 {
		cfg.Media.SocketBuffer = -1 // the system default
	}
	if *nodeIP != "" {
		cfg.NodeIPs = strings.Split(*nodeIP, ",")
	}
	if *keys != "" {
		kp, err := auth.ParseKeys(*keys)
		if err != nil {
			return fmt.Errorf("--keys: %w", err)
		}
		cfg.Keys = kp
	}
	node, err := server.Start(cfg)
	if err != nil {
		return err
	}
	if *pprofAddr != "" {
		stopPprof, err := startPprof(*pprofAddr, logger)
		if err != nil {
			_ = node.Shutdown(context.Background())
			return fmt.Errorf("--pprof: %w", err)
		}
		defer stopPprof()
	}
	logger.Info("podium serving", "version", server.Version, "http", node.HTTPURL(),
		"udp", node.Engine().UDPAddr(), "tcp", node.Engine().TCPAddr())
	if node.DevKey != "" {
		logger.Warn("no --keys given: DEV MODE — anyone can get a token from /api/dev/token; do not expose this server")
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
