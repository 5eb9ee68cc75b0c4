package server

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/podium-sfu/podium/cluster"
	"github.com/podium-sfu/podium/cluster/relay"
	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room"
	"github.com/podium-sfu/podium/serverapi"
	"github.com/podium-sfu/podium/sfu"
)

// Cluster joins this node to others over NATS (docs/cluster.md). The zero value is a lone
// node: no NATS, nothing of the cluster runs.
type Cluster struct {
	NATS []string // nats:// URLs of an existing NATS to join
	// Listen runs nats-server in this process for clients on host:port; ClusterListen and
	// Routes cluster it with the other nodes' servers, so that a few nodes need nothing else.
	Listen, ClusterListen string
	Routes                []string
	NodeID                string // unique in the cluster; default: the host name and a random suffix
	Region                string
	// Heartbeat (1 s) and NodeTTL (5 s): how often a node says it is alive, and the silence
	// after which the others count it dead.
	Heartbeat, NodeTTL time.Duration
}

func (c Cluster) on() bool { return len(c.NATS) > 0 || c.Listen != "" }

// clusterNode is this node's part of the cluster.
type clusterNode struct {
	nats   *natsserver.Server // nil: an external NATS
	node   *cluster.Node
	relays *relay.Relays
	drain  drainPlan // set by Shutdown (cluster_drain.go)
}

// startCluster joins the cluster once the rooms and the listener exist.
func (n *Node) startCluster(reg prometheus.Registerer) error {
	cc := n.cfg.Cluster
	if !cc.on() {
		return nil
	}
	id := cmp.Or(cc.NodeID, defaultNodeID())
	logger := n.cfg.Logger.With("component", "cluster")
	c := &clusterNode{}
	var err error
	if cc.Listen != "" {
		c.nats, err = cluster.StartEmbedded(cluster.EmbeddedConfig{Name: id, Listen: cc.Listen,
			ClusterListen: cc.ClusterListen, Routes: cc.Routes, Logger: logger})
		if err != nil {
			return err
		}
	}
	c.relays = relay.New(relay.Config{Engine: n.engine, Source: n.rooms,
		Sink: relaySink{n}, Logger: logger})
	cpu := &cpuMeter{}
	c.node, err = cluster.Join(cluster.Config{
		Info: cluster.NodeInfo{ID: id, Addr: n.URL(), Region: cc.Region}, URLs: cc.NATS,
		Server: c.nats, Heartbeat: cc.Heartbeat, NodeTTL: cc.NodeTTL, Logger: logger,
		Load: func() cluster.Load {
			return cluster.Load{CPU: cpu.cores(), Participants: n.rooms.ParticipantCount()}
		},
	}, cluster.Handler{
		Change: func(ch cluster.Change) {
			n.rooms.RemoteChange(ch.Node, ch.Room, ch.Metadata, ch.MetadataAt, ch.Joined, ch.Updated, ch.Left)
		},
		Data: func(m cluster.DataMessage) {
			n.rooms.RemoteData(m.Room, m.Label, m.Payload, m.Text, m.To)
		},
		Call: func(call cluster.Call) cluster.CallReply {
			if strings.HasPrefix(call.Op, relay.Prefix) {
				return c.relays.Handle(call)
			}
			return n.answerAdminCall(call)
		},
		NodeGone: func(id string) { c.relays.NodeGone(id) },
	})
	if err != nil {
		c.relays.Close()
		if c.nats != nil {
			c.nats.Shutdown()
		}
		return err
	}
	c.relays.SetCaller(c.node)
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "podium_relay_packets_out_total",
			Help: "RTP packets sent to other nodes of the cluster (one copy per node that needs a layer)."},
			func() float64 { sent, _ := c.relays.Stats(); return float64(sent) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "podium_relay_packets_in_total",
			Help: "RTP packets received from other nodes of the cluster."},
			func() float64 { _, got := c.relays.Stats(); return float64(got) }),
	)
	n.cluster = c
	n.rooms.SetCluster(clusterRooms{c})
	n.api.SetCluster(clusterAPI{n: n, c: c})
	logger.Info("joined the cluster", "node", id, "embedded_nats", c.nats != nil)
	return nil
}

// close leaves the cluster: the others drop this node's participants at once.
func (c *clusterNode) close() {
	if c == nil {
		return
	}
	c.node.Close()
	c.relays.Close()
	if c.nats != nil {
		c.nats.Shutdown()
		c.nats.WaitForShutdown()
	}
}

// ClusterNode is this node's membership, nil on a lone node.
func (n *Node) ClusterNode() *cluster.Node {
	if n.cluster == nil {
		return nil
	}
	return n.cluster.node
}

// clusterRooms is room.Cluster over the node and its relays.
type clusterRooms struct{ c *clusterNode }

func (r clusterRooms) Announce(room, metadata string, metadataAt int64, local []protocol.ParticipantInfo) {
	r.c.node.SetRoom(room, metadata, metadataAt, local)
}

func (r clusterRooms) PublishData(room, label string, payload []byte, text bool, to []string) {
	r.c.node.PublishData(cluster.DataMessage{Room: room, Label: label, Text: text, Payload: payload, To: to})
}

func (r clusterRooms) NodeID() string { return r.c.node.ID() }

func (r clusterRooms) Want(node string, tracks map[string]uint8) { r.c.relays.Want(node, tracks) }
func (r clusterRooms) Needed(trackSid string) uint8              { return r.c.relays.Needed(trackSid) }
func (r clusterRooms) Forget(node, trackSid string)              { r.c.relays.Forget(node, trackSid) }

func (r clusterRooms) RemoteReceiver(node, trackSid string) *sfu.Receiver {
	return r.c.relays.Receiver(node, trackSid)
}

func (r clusterRooms) Placements(name string) []room.Placement {
	var out []room.Placement
	for _, pl := range r.c.node.Room(name) {
		out = append(out, room.Placement{Node: pl.Node, Metadata: pl.Metadata,
			MetadataAt: pl.MetadataAt, Participants: pl.Participants})
	}
	return out
}

// relaySink publishes a remote track in its room once its relayed media arrives, and takes
// it back while a relay that died is replaced.
type relaySink struct{ n *Node }

func (s relaySink) RemoteTrack(node, participantSid, trackSid string, _ *sfu.Receiver) {
	s.n.rooms.RemoteTrackReady(node, participantSid, trackSid)
}

func (s relaySink) RemoteTracksLost(node string, trackSids []string) {
	s.n.rooms.RemoteTracksLost(node, trackSids)
}

func defaultNodeID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "podium"
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return host + "-" + hex.EncodeToString(b)
}

// cpuMeter measures the cores the process used between two calls.
type cpuMeter struct {
	mu         sync.Mutex
	lastAt     time.Time
	lastUsed   time.Duration
	lastResult float64
}

func (m *cpuMeter) cores() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	used := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	if !m.lastAt.IsZero() && now.Sub(m.lastAt) > 100*time.Millisecond {
		m.lastResult = float64(used-m.lastUsed) / float64(now.Sub(m.lastAt))
	}
	m.lastAt, m.lastUsed = now, used
	return m.lastResult
}

// ClusterRoute is the nats:// URL of this node's in-process NATS cluster port, for another
// node's routes ("" without one).
func (n *Node) ClusterRoute() string {
	if n.cluster == nil || n.cluster.nats == nil || n.cluster.nats.ClusterAddr() == nil {
		return ""
	}
	return "nats://" + n.cluster.nats.ClusterAddr().String()
}

// clusterAPI lets the server API of any node answer for the cluster (serverapi.Cluster).
type clusterAPI struct {
	n *Node
	c *clusterNode
}

func (a clusterAPI) RemoteRooms() map[string][]protocol.ParticipantInfo {
	out := map[string][]protocol.ParticipantInfo{}
	for name, placements := range a.c.node.Rooms() {
		for _, pl := range placements {
			out[name] = append(out[name], pl.Participants...)
		}
	}
	return out
}

func (a clusterAPI) Locate(room, identity string) (string, bool) {
	if r := a.n.rooms.Room(room); r != nil {
		if p := r.Participant(identity); p != nil && !p.IsRemote() {
			return "", false
		}
	}
	return a.c.node.Find(room, identity)
}

func (a clusterAPI) Forward(node, op, room, identity string, args []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	reply, err := a.c.node.Call(ctx, node, cluster.Call{Op: op, Room: room, Identity: identity, Args: args})
	if err != nil {
		return err
	}
	return callError(reply.Error)
}

func (a clusterAPI) Nodes() any { return a.c.node.Nodes() }

// answerAdminCall acts on one of this node's participants for another node's server API.
func (n *Node) answerAdminCall(call cluster.Call) cluster.CallReply {
	r := n.rooms.Room(call.Room)
	var p *room.Participant
	if r != nil {
		p = r.Participant(call.Identity)
	}
	if p == nil || p.IsRemote() {
		return cluster.CallReply{Error: errNotHere}
	}
	switch call.Op {
	case serverapi.OpKick:
		p.Close(protocol.LeaveKicked)
	case serverapi.OpMute:
		var args serverapi.MuteArgs
		if err := json.Unmarshal(call.Args, &args); err != nil {
			return cluster.CallReply{Error: "bad mute: " + err.Error()}
		}
		if err := p.MuteTrack(args.TrackSid, args.Muted); err != nil {
			return cluster.CallReply{Error: err.Error()}
		}
	default:
		return cluster.CallReply{Error: "unknown op " + call.Op}
	}
	return cluster.CallReply{}
}

const errNotHere = "not found: the participant is not on this node"

// callError turns a node's answer back into the room error it came from, so that the API
// answers with the same status as on that node.
func callError(msg string) error {
	if msg == "" {
		return nil
	}
	for _, e := range []error{room.ErrNotFound, room.ErrForbidden, room.ErrBadRequest, room.ErrWrongState} {
		if strings.HasPrefix(msg, e.Error()) {
			return fmt.Errorf("%w%s", e, strings.TrimPrefix(msg, e.Error()))
		}
	}
	return errors.New(msg)
}
