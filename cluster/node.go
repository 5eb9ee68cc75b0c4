package cluster

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/podium-sfu/podium/protocol"
)

// Config says how a node joins the cluster.
type Config struct {
	Info   NodeInfo           // ID (unique in the cluster), Addr, Region
	URLs   []string           // NATS servers; with Server, the others to fail over to
	Server *natsserver.Server // an embedded server, reached in-process
	Prefix string             // of every subject; "podium"
	// Heartbeat is how often the node says it is alive (1 s); NodeTTL the silence after
	// which the others count it dead (5 s).
	Heartbeat, NodeTTL time.Duration
	Load               func() Load // sampled at each heartbeat; nil reports none
	Logger             *slog.Logger
}

// Handler receives what other nodes do. Change and Data run on the node's one event
// goroutine, in the order the messages came; Call runs on a NATS goroutine.
type Handler struct {
	Change func(Change)
	Data   func(DataMessage)
	Call   func(Call) CallReply
	// NodeGone is called, on the event goroutine, when a node left or was counted dead,
	// after the Changes that took its participants out.
	NodeGone func(id string)
}

// Node is this process's membership of the cluster.
type Node struct {
	cfg    Config
	h      Handler
	nc     *nats.Conn
	epoch  int64
	logger *slog.Logger

	mu    sync.Mutex
	seq   uint64
	local map[string]RoomState

	dirMu sync.Mutex // the directory is written by run only; read by queries
	dir   *directory

	in          chan *nats.Msg
	snapshots   chan Snapshot
	reconnected chan struct{}
	syncing     sync.Map // node id -> struct{}: a sync request in flight
	connected   atomic.Bool
	draining    atomic.Bool
	deaf        sync.Map // node id -> time.Time: Deafen's drill, until then
	done        chan struct{}
	wg          sync.WaitGroup
}

// ErrNoNode is returned for a call to a node that is not in the cluster.
var ErrNoNode = errors.New("cluster: no such node")

// Join connects to NATS and starts announcing this node.
func Join(cfg Config, h Handler) (*Node, error) {
	if cfg.Info.ID == "" {
		return nil, errors.New("cluster: a node needs an ID")
	}
	cfg.Prefix = cmp.Or(cfg.Prefix, "podium")
	cfg.Heartbeat = cmp.Or(cfg.Heartbeat, time.Second)
	cfg.NodeTTL = cmp.Or(cfg.NodeTTL, 5*time.Second)
	n := &Node{
		cfg: cfg, h: h, epoch: time.Now().UnixNano(),
		logger: cmp.Or(cfg.Logger, slog.Default()).With("node", cfg.Info.ID),
		local:  map[string]RoomState{}, dir: newDirectory(cfg.NodeTTL),
		// A full channel makes NATS drop (a slow consumer): heartbeats then show the gap
		// and a sync repairs it.
		in:        make(chan *nats.Msg, 4096),
		snapshots: make(chan Snapshot, 16), reconnected: make(chan struct{}, 1),
		done: make(chan struct{}),
	}
	opts := []nats.Option{
		nats.Name("podium " + cfg.Info.ID),
		nats.NoEcho(), // a node never needs its own messages back
		nats.MaxReconnects(-1), nats.ReconnectWait(250 * time.Millisecond),
		nats.RetryOnFailedConnect(true),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			n.connected.Store(false)
			n.logger.Warn("cluster: lost NATS", "err", err)
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			n.connected.Store(true)
			n.logger.Info("cluster: NATS back", "server", c.ConnectedUrl())
			select {
			case n.reconnected <- struct{}{}:
			default:
			}
		}),
	}
	if cfg.Server != nil {
		opts = append(opts, nats.InProcessServer(cfg.Server))
	}
	nc, err := nats.Connect(joinURLs(cfg.URLs), opts...)
	if err != nil {
		return nil, fmt.Errorf("cluster: connect to NATS: %w", err)
	}
	n.nc = nc
	n.connected.Store(nc.IsConnected())
	p := cfg.Prefix
	for _, subj := range []string{p + subjHeartbeat, p + subjState, fmt.Sprintf(p+subjData, "*")} {
		if _, err := nc.ChanSubscribe(subj, n.in); err != nil {
			nc.Close()
			return nil, fmt.Errorf("cluster: subscribe %s: %w", subj, err)
		}
	}
	if _, err := nc.Subscribe(fmt.Sprintf(p+subjSync, cfg.Info.ID), n.answerSync); err != nil {
		nc.Close()
		return nil, err
	}
	if _, err := nc.Subscribe(fmt.Sprintf(p+subjCall, cfg.Info.ID), n.answerCall); err != nil {
		nc.Close()
		return nil, err
	}
	n.wg.Add(1)
	go n.run()
	n.sendHeartbeat(false)
	return n, nil
}

func joinURLs(urls []string) string {
	if len(urls) == 0 {
		return nats.DefaultURL
	}
	out := urls[0]
	for _, u := range urls[1:] {
		out += "," + u
	}
	return out
}

// ID is this node's ID.
func (n *Node) ID() string { return n.cfg.Info.ID }

// Close says goodbye, so the others drop this node's participants at once, and leaves.
func (n *Node) Close() {
	select {
	case <-n.done:
		return
	default:
	}
	n.sendHeartbeat(true)
	_ = n.nc.FlushTimeout(time.Second)
	close(n.done)
	n.wg.Wait()
	n.nc.Close()
}

// Deafen is a failure drill: for d, this node drops another's heartbeats and room states as
// if they were lost on the way to it alone, so it counts that node dead after the TTL while
// that node still hears it. Calls between them still pass.
func (n *Node) Deafen(id string, d time.Duration) { n.deaf.Store(id, time.Now().Add(d)) }

func (n *Node) deafTo(id string) bool {
	until, ok := n.deaf.Load(id)
	return ok && time.Now().Before(until.(time.Time))
}

// SetDraining marks the node as taking no joins in its heartbeats.
func (n *Node) SetDraining(d bool) {
	n.draining.Store(d)
	n.sendHeartbeat(false)
}

// SetRoom announces this node's participants of a room (none: it holds nobody there).
func (n *Node) SetRoom(room, metadata string, metadataAt int64, participants []protocol.ParticipantInfo) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.seq++
	rs := RoomState{Node: n.ID(), Epoch: n.epoch, Seq: n.seq, Room: room, Metadata: metadata,
		MetadataAt: metadataAt, Participants: slices.Clone(participants)}
	if len(participants) == 0 {
		delete(n.local, room)
	} else {
		n.local[room] = rs
	}
	// Published under the lock, so that the changes leave in the order of their numbers.
	n.publish(n.cfg.Prefix+subjState, rs)
}

// PublishData sends a room's data message to the other nodes.
func (n *Node) PublishData(m DataMessage) {
	m.Node = n.ID()
	n.publish(fmt.Sprintf(n.cfg.Prefix+subjData, roomToken(m.Room)), m)
}

// Call asks another node to act on one of its participants; ctx bounds the wait (a node that
// died answers nothing, and whoever waits must be able to give up at once).
func (n *Node) Call(ctx context.Context, node string, c Call) (CallReply, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return CallReply{}, err
	}
	msg, err := n.nc.RequestWithContext(ctx, fmt.Sprintf(n.cfg.Prefix+subjCall, node), b)
	if errors.Is(err, nats.ErrNoResponders) {
		return CallReply{}, ErrNoNode
	}
	if err != nil {
		return CallReply{}, fmt.Errorf("cluster: call %s on %s: %w", c.Op, node, err)
	}
	var r CallReply
	if err := json.Unmarshal(msg.Data, &r); err != nil {
		return CallReply{}, fmt.Errorf("cluster: reply from %s: %w", node, err)
	}
	return r, nil
}

// Nodes lists the live nodes, this one first.
func (n *Node) Nodes() []NodeInfo {
	self := n.info()
	n.dirMu.Lock()
	defer n.dirMu.Unlock()
	return append([]NodeInfo{self}, n.dir.nodeInfos()...)
}

// Room is the other nodes' share of a room.
func (n *Node) Room(name string) []Placement {
	n.dirMu.Lock()
	defer n.dirMu.Unlock()
	return n.dir.room(name)
}

// Rooms is every room the other nodes hold someone in.
func (n *Node) Rooms() map[string][]Placement {
	n.dirMu.Lock()
	defer n.dirMu.Unlock()
	return n.dir.rooms()
}

// Find says which other node holds an identity in a room.
func (n *Node) Find(room, identity string) (node string, ok bool) {
	for _, pl := range n.Room(room) {
		for _, p := range pl.Participants {
			if p.Identity == identity {
				return pl.Node, true
			}
		}
	}
	return "", false
}

func (n *Node) info() NodeInfo {
	info := n.cfg.Info
	if n.cfg.Load != nil {
		info.Load = n.cfg.Load()
	}
	info.Draining = n.draining.Load()
	return info
}

func (n *Node) sendHeartbeat(leaving bool) {
	n.mu.Lock()
	seq := n.seq
	n.mu.Unlock()
	n.publish(n.cfg.Prefix+subjHeartbeat, Heartbeat{Node: n.info(), Epoch: n.epoch, Seq: seq,
		Leaving: leaving})
}

func (n *Node) publish(subject string, v any) {
	b, err := json.Marshal(v)
	if err == nil {
		err = n.nc.Publish(subject, b)
	}
	if err != nil {
		n.logger.Warn("cluster: publish", "subject", subject, "err", err)
	}
}

func (n *Node) snapshot() Snapshot {
	n.mu.Lock()
	defer n.mu.Unlock()
	s := Snapshot{Node: n.ID(), Epoch: n.epoch, Seq: n.seq, Rooms: make([]RoomState, 0, len(n.local))}
	for _, rs := range n.local {
		s.Rooms = append(s.Rooms, rs)
	}
	return s
}

func (n *Node) answerSync(m *nats.Msg) {
	b, err := json.Marshal(n.snapshot())
	if err == nil {
		err = m.Respond(b)
	}
	if err != nil {
		n.logger.Warn("cluster: answer sync", "err", err)
	}
}

func (n *Node) answerCall(m *nats.Msg) {
	var c Call
	r := CallReply{Error: "no handler"}
	if err := json.Unmarshal(m.Data, &c); err != nil {
		r = CallReply{Error: "bad call: " + err.Error()}
	} else if n.h.Call != nil {
		r = n.h.Call(c)
	}
	b, _ := json.Marshal(r) // CallReply always encodes
	if err := m.Respond(b); err != nil {
		n.logger.Warn("cluster: answer call", "op", c.Op, "err", err)
	}
}

// Kill stops the node without a goodbye, as a killed process would: the others count it
// dead after NodeTTL (tests and failure drills).
func (n *Node) Kill() {
	close(n.done)
	n.wg.Wait()
	n.nc.Close()
}
