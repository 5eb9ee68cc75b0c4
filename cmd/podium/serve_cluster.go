package main

import (
	"flag"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/podium-sfu/podium/server"
)

// clusterFlags join the node to others over NATS (docs/cluster.md).
type clusterFlags struct {
	nats, natsListen, natsClusterListen, natsRoutes, nodeID, region string
}

func defineClusterFlags(fs *flag.FlagSet, f *clusterFlags) {
	fs.StringVar(&f.nats, "nats", envDefault("nats", ""), "join a cluster through this NATS (comma-separated nats:// URLs); with neither this nor --nats-listen the node runs alone [PODIUM_NATS]")
	fs.StringVar(&f.natsListen, "nats-listen", envDefault("nats-listen", ""), "run nats-server in this process for NATS clients on host:port (4222 by convention), so that nodes need no other software [PODIUM_NATS_LISTEN]")
	fs.StringVar(&f.natsClusterListen, "nats-cluster-listen", envDefault("nats-cluster-listen", ""), "the in-process nats-server's cluster port, host:port (6222 by convention), for --nats-routes [PODIUM_NATS_CLUSTER_LISTEN]")
	fs.StringVar(&f.natsRoutes, "nats-routes", envDefault("nats-routes", ""), "the other nodes' NATS cluster ports (comma-separated nats://host:6222) [PODIUM_NATS_ROUTES]")
	fs.StringVar(&f.nodeID, "node-id", envDefault("node-id", ""), "this node's name in the cluster, unique; default the host name and a random suffix [PODIUM_NODE_ID]")
	fs.StringVar(&f.region, "region", envDefault("region", ""), "this node's region label, shown with its load [PODIUM_REGION]")
}

func (f *clusterFlags) check() error {
	for _, a := range []struct{ name, v string }{{"nats-listen", f.natsListen}, {"nats-cluster-listen", f.natsClusterListen}} {
		if a.v == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a.v); err != nil {
			return fmt.Errorf("--%s %q: want host:port (:4222 for every interface)", a.name, a.v)
		}
	}
	if f.natsRoutes != "" && f.natsClusterListen == "" {
		return fmt.Errorf("--nats-routes needs --nats-cluster-listen: the routes join this node's own NATS cluster port")
	}
	if f.natsClusterListen != "" && f.natsListen == "" {
		return fmt.Errorf("--nats-cluster-listen needs --nats-listen (the in-process nats-server)")
	}
	for u := range listItems(f.nats) {
		if !strings.HasPrefix(u, "nats://") && !strings.HasPrefix(u, "tls://") {
			return fmt.Errorf("--nats %q: want nats://host:4222 URLs", u)
		}
	}
	return nil
}

func (f *clusterFlags) apply(cfg *server.Config) {
	cfg.Cluster = server.Cluster{NATS: slices.Collect(listItems(f.nats)), Listen: f.natsListen,
		ClusterListen: f.natsClusterListen, Routes: slices.Collect(listItems(f.natsRoutes)), NodeID: f.nodeID,
		Region: f.region}
}
