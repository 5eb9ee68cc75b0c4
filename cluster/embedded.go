package cluster

import (
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
)

// EmbeddedConfig runs nats-server inside the node, clustered with its peers', so that a few
// nodes need no other software.
type EmbeddedConfig struct {
	Name          string   // the server's name; the node's ID
	Listen        string   // host:port for NATS clients; ":0" picks a free port
	ClusterListen string   // host:port for routes to the other servers; empty for a lone server
	Routes        []string // nats://host:port of the other servers' cluster ports
	Logger        *slog.Logger
}

// StartEmbedded starts a nats-server and waits until it takes clients.
func StartEmbedded(cfg EmbeddedConfig) (*natsserver.Server, error) {
	host, port, err := splitListen(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("--nats-listen: %w", err)
	}
	opts := &natsserver.Options{
		ServerName: cfg.Name, Host: host, Port: port,
		NoSigs: true, // the node owns the process's signals
		// Media never goes through NATS, so its messages stay small; a generous cap still
		// bounds what one bad peer can make every server hold.
		MaxPayload: 1 << 20,
	}
	if cfg.ClusterListen != "" {
		chost, cport, err := splitListen(cfg.ClusterListen)
		if err != nil {
			return nil, fmt.Errorf("--nats-cluster-listen: %w", err)
		}
		opts.Cluster = natsserver.ClusterOpts{Name: "podium", Host: chost, Port: cport,
			ConnectRetries: -1}
		if len(cfg.Routes) > 0 {
			opts.Routes = natsserver.RoutesFromStr(strings.Join(cfg.Routes, ","))
		}
	}
	s, err := natsserver.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("nats server: %w", err)
	}
	if cfg.Logger != nil {
		s.SetLoggerV2(natsLogger{cfg.Logger}, false, false, false)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("nats server on %s did not start", cfg.Listen)
	}
	return s, nil
}

// splitListen reads host:port; port 0 asks for a free one (nats-server spells that -1).
func splitListen(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port in %q", addr)
	}
	if port == 0 {
		port = natsserver.RANDOM_PORT
	}
	if host == "" {
		host = "0.0.0.0"
	}
	return host, port, nil
}

// natsLogger hands nats-server's logs to slog; its notices are chatty, so they go to debug.
type natsLogger struct{ l *slog.Logger }

func (n natsLogger) Noticef(format string, v ...any) { n.l.Debug("nats: " + fmt.Sprintf(format, v...)) }
func (n natsLogger) Warnf(format string, v ...any)   { n.l.Warn("nats: " + fmt.Sprintf(format, v...)) }
func (n natsLogger) Fatalf(format string, v ...any)  { n.l.Error("nats: " + fmt.Sprintf(format, v...)) }
func (n natsLogger) Errorf(format string, v ...any)  { n.l.Error("nats: " + fmt.Sprintf(format, v...)) }
func (n natsLogger) Debugf(format string, v ...any)  { n.l.Debug("nats: " + fmt.Sprintf(format, v...)) }
func (n natsLogger) Tracef(format string, v ...any)  {}
