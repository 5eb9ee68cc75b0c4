package server

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/podium-sfu/podium/publicip"
)

// discoverNodeIP adds the address STUN servers see this node at to the node IPs.
func discoverNodeIP(cfg Config) ([]string, error) {
	if !cfg.NodeIPAuto {
		return cfg.NodeIPs, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	local := cfg.Bind
	if ip := net.ParseIP(local); ip != nil && ip.IsUnspecified() {
		local = ""
	}
	ip, err := publicip.Discover(ctx, publicip.Config{Servers: cfg.STUNServers, LocalIP: local})
	if err != nil {
		return nil, fmt.Errorf("node IP auto: %w", err)
	}
	cfg.Logger.Info("public address discovered by STUN", "node_ip", ip.String())
	return append(append([]string(nil), cfg.NodeIPs...), ip.String()), nil
}
