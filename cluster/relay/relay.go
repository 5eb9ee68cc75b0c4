// Package relay carries media between the nodes of a cluster: a track crosses from its
// publisher's node to another node once, whatever the number of subscribers there.
//
// Between two nodes there is one WebRTC peer connection each way (DTLS-SRTP: encrypted and
// authenticated with keys no third party sees, NACK and PLI on its RTCP, the same code that
// serves browsers), negotiated over the cluster's NATS calls without trickle. Each simulcast
// layer crosses as a stream of its own, so the receiving node keeps choosing a layer per
// subscriber; it asks for the layers its subscribers need, and the others are paused at the
// source (dynacast across nodes).
package relay

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/cluster"
	"github.com/podium-sfu/podium/room/peer"
	"github.com/podium-sfu/podium/sfu"
)

// Calls between relays, over cluster.Node.Call.
const (
	OpWant  = "relay.want"  // to the source: the layers a node needs (want)
	OpOffer = "relay.offer" // to the sink: the source's offer (sdpMsg); the reply is the answer
	Prefix  = "relay."
)

type want struct {
	From   string           `json:"from"`
	Tracks map[string]uint8 `json:"tracks"` // track sid -> bit mask of layers
}

type sdpMsg struct {
	From string `json:"from"`
	SDP  string `json:"sdp"`
}

// Caller is the cluster's request/reply.
type Caller interface {
	Call(ctx context.Context, node string, c cluster.Call) (cluster.CallReply, error)
	ID() string
}

// Source is what this node publishes: a local track's receiver and its publisher's sid.
type Source interface {
	LocalTrack(trackSid string) (r *sfu.Receiver, participantSid string, ok bool)
}

// Sink is told when a remote track's receiver exists (its first layer arrived), and when the
// receivers of a relay that died are gone (a new relay brings them back). It is called from
// pion's goroutines and must not block.
type Sink interface {
	RemoteTrack(node, participantSid, trackSid string, r *sfu.Receiver)
	RemoteTracksLost(node string, trackSids []string)
}

// Config wires a node's relays.
type Config struct {
	Engine  *sfu.Engine
	Caller  Caller
	Source  Source
	Sink    Sink
	Timeout time.Duration // of one negotiation (5 s)
	Logger  *slog.Logger
}

// Relays are this node's connections to the others: out to the nodes that need its tracks,
// in from the nodes whose tracks it needs.
type Relays struct {
	cfg    Config
	logger *slog.Logger

	mu     sync.Mutex
	outs   map[string]*out             // by sink node
	ins    map[string]*in              // by source node
	wants  map[string]map[string]uint8 // by source node: the last Want, asked again of a new in
	closed bool

	retiredOut, retiredIn atomic.Uint64  // packets of closed relays and streams (Stats)
	closing               sync.WaitGroup // relays of gone nodes, closed off the caller's goroutine
}

// New makes a node's relays; Close ends them.
func New(cfg Config) *Relays {
	cfg.Timeout = cmp.Or(cfg.Timeout, 5*time.Second)
	logger := cmp.Or(cfg.Logger, slog.Default())
	return &Relays{cfg: cfg, logger: logger, outs: map[string]*out{}, ins: map[string]*in{},
		wants: map[string]map[string]uint8{}}
}

// SetCaller gives the relays the cluster's calls, once the node has joined (its handler
// needs the relays first).
func (rs *Relays) SetCaller(c Caller) {
	rs.mu.Lock()
	rs.cfg.Caller = c
	rs.mu.Unlock()
}

// Want asks a node for the layers of its tracks this node needs (a mask per track sid; a
// track left out is not needed). It sends only what changed since the last call.
func (rs *Relays) Want(node string, tracks map[string]uint8) {
	rs.mu.Lock()
	if len(tracks) == 0 {
		delete(rs.wants, node)
	} else {
		rs.wants[node] = maps.Clone(tracks)
	}
	rs.mu.Unlock()
	in, err := rs.in(node)
	if err != nil {
		rs.logger.Warn("relay: in", "from", node, "err", err)
		return
	}
	in.want(tracks)
}

// Receiver is the receiver of a remote track, nil until its first layer arrived.
func (rs *Relays) Receiver(node, trackSid string) *sfu.Receiver {
	rs.mu.Lock()
	in := rs.ins[node]
	rs.mu.Unlock()
	if in == nil {
		return nil
	}
	return in.receiver(trackSid)
}

// Needed is the layers of a local track that other nodes need, for the publisher's dynacast.
func (rs *Relays) Needed(trackSid string) uint8 {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	var mask uint8
	for _, o := range rs.outs {
		mask |= o.needed(trackSid)
	}
	return mask
}

// Refresh makes the out relays check their tracks again (one was unpublished).
func (rs *Relays) Refresh() {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for _, o := range rs.outs {
		o.kick()
	}
}

// Forget drops a remote track that was unpublished.
func (rs *Relays) Forget(node, trackSid string) {
	rs.mu.Lock()
	in := rs.ins[node]
	rs.mu.Unlock()
	if in != nil {
		in.forget(trackSid)
	}
}

// NodeGone closes the relays to and from a node that left or died. It returns at once: it
// runs on the cluster's event goroutine, which must keep beating while the relays close (a
// close waits for calls to the gone node to give up).
func (rs *Relays) NodeGone(node string) {
	rs.mu.Lock()
	o, i := rs.outs[node], rs.ins[node]
	delete(rs.outs, node)
	delete(rs.ins, node)
	delete(rs.wants, node) // its participants left: the rooms ask again when it is back
	if o != nil {
		o.closing.Store(true)
	}
	if i != nil {
		i.closing.Store(true)
	}
	if o != nil || i != nil { // under mu: Close's Wait must not race the Add
		rs.closing.Go(func() {
			if o != nil {
				o.close()
			}
			if i != nil {
				i.close()
			}
		})
	}
	rs.mu.Unlock()
}

// outLost retires an out whose connection closed or failed without this side closing it:
// the other node closed its in (it counted this one dead), or the path died. The next want
// from that node makes a new out.
func (rs *Relays) outLost(o *out) {
	if o.closing.Load() {
		return
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.closed || rs.outs[o.node] != o {
		return
	}
	o.logger.Warn("relay: connection lost, retired")
	rs.retireOutLocked(o)
}

func (rs *Relays) retireOutLocked(o *out) {
	delete(rs.outs, o.node)
	o.closing.Store(true)
	rs.closing.Go(o.close) // off pion's goroutine, which a close waits for
}

// inLost retires an in whose connection closed or failed without this side closing it. Its
// tracks are lost to the sink, and while that node's tracks are still wanted a new in asks
// for them at once, so that the other node makes a new out and offers again.
func (rs *Relays) inLost(i *in) {
	if i.closing.Load() {
		return
	}
	rs.mu.Lock()
	if rs.closed || rs.ins[i.node] != i {
		rs.mu.Unlock()
		return
	}
	i.logger.Warn("relay: connection lost, retired")
	lost := rs.retireInLocked(i)
	if wants := rs.wants[i.node]; len(wants) > 0 {
		// Under rs.mu, so that a newer Want, stored after this read, is queued after it.
		if n, err := newIn(rs, i.node); err != nil {
			i.logger.Warn("relay: in", "err", err)
		} else {
			rs.ins[i.node] = n
			n.want(wants)
		}
	}
	rs.mu.Unlock()
	rs.tracksLost(i.node, lost)
}

// retireInLocked takes an in out of use and closes it; it returns its tracks' sids, for
// tracksLost once rs.mu is let go.
func (rs *Relays) retireInLocked(i *in) []string {
	delete(rs.ins, i.node)
	i.closing.Store(true)
	lost := i.trackSids()
	rs.closing.Go(i.close)
	return lost
}

func (rs *Relays) tracksLost(node string, sids []string) {
	if len(sids) > 0 && rs.cfg.Sink != nil {
		rs.cfg.Sink.RemoteTracksLost(node, sids)
	}
}

// call makes one cluster call, given up after the configured timeout or when ctx ends.
func (rs *Relays) call(ctx context.Context, node string, c cluster.Call) (cluster.CallReply, error) {
	ctx, cancel := context.WithTimeout(ctx, rs.cfg.Timeout)
	defer cancel()
	return rs.cfg.Caller.Call(ctx, node, c)
}

// Stats counts the RTP packets this node has sent to other nodes and received from them.
func (rs *Relays) Stats() (sent, received uint64) {
	rs.mu.Lock()
	outs := slices.Collect(maps.Values(rs.outs))
	ins := slices.Collect(maps.Values(rs.ins))
	rs.mu.Unlock()
	sent, received = rs.retiredOut.Load(), rs.retiredIn.Load()
	for _, o := range outs {
		sent += o.packets()
	}
	for _, i := range ins {
		received += i.packets()
	}
	return sent, received
}

// Close ends every relay.
func (rs *Relays) Close() {
	rs.mu.Lock()
	rs.closed = true
	outs, ins := rs.outs, rs.ins
	rs.outs, rs.ins = map[string]*out{}, map[string]*in{}
	rs.mu.Unlock()
	for _, o := range outs {
		o.close()
	}
	for _, i := range ins {
		i.close()
	}
	rs.closing.Wait()
}

// Handle answers another node's relay call (cluster.Handler.Call for ops under Prefix).
func (rs *Relays) Handle(c cluster.Call) cluster.CallReply {
	switch c.Op {
	case OpWant:
		var w want
		if err := json.Unmarshal(c.Args, &w); err != nil || w.From == "" {
			return cluster.CallReply{Error: fmt.Sprintf("relay: bad want: %v", err)}
		}
		o, err := rs.out(w.From)
		if err != nil {
			return cluster.CallReply{Error: err.Error()}
		}
		o.setWanted(w.Tracks) // negotiated on the out's own goroutine: a call must not wait on a call
		return cluster.CallReply{}
	case OpOffer:
		var m sdpMsg
		if err := json.Unmarshal(c.Args, &m); err != nil || m.From == "" {
			return cluster.CallReply{Error: fmt.Sprintf("relay: bad offer: %v", err)}
		}
		in, err := rs.in(m.From)
		if err != nil {
			return cluster.CallReply{Error: err.Error()}
		}
		answer, err := in.answer(m.SDP, rs.cfg.Timeout)
		if err != nil {
			return cluster.CallReply{Error: err.Error()}
		}
		b, _ := json.Marshal(sdpMsg{From: rs.cfg.Caller.ID(), SDP: answer})
		return cluster.CallReply{Result: b}
	}
	return cluster.CallReply{Error: "relay: unknown op " + c.Op}
}

// out is the out relay to a node, a new one if there is none or its connection died (its
// callback may not have run yet).
func (rs *Relays) out(node string) (*out, error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.closed {
		return nil, fmt.Errorf("relay: closed")
	}
	if o := rs.outs[node]; o != nil {
		if _, sub := o.peer.States(); !dead(sub) {
			return o, nil
		}
		rs.retireOutLocked(o)
	}
	o, err := newOut(rs, node)
	if err != nil {
		return nil, err
	}
	rs.outs[node] = o
	return o, nil
}

// in is the in relay from a node, a new one if there is none or its connection died (its
// callback may not have run yet). Want's caller may hold the rooms' locks, so the sink hears
// of the lost tracks on a goroutine of its own: the rooms take a loss and the new receiver in
// either order.
func (rs *Relays) in(node string) (*in, error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.closed {
		return nil, fmt.Errorf("relay: closed")
	}
	if i := rs.ins[node]; i != nil {
		if pub, _ := i.peer.States(); !dead(pub) {
			return i, nil
		}
		lost := rs.retireInLocked(i)
		rs.closing.Go(func() { rs.tracksLost(node, lost) })
	}
	i, err := newIn(rs, node)
	if err != nil {
		return nil, err
	}
	rs.ins[node] = i
	return i, nil
}

func dead(s webrtc.PeerConnectionState) bool {
	return s == webrtc.PeerConnectionStateClosed || s == webrtc.PeerConnectionStateFailed
}

// A relayed stream's msid: the publisher's participant sid, and the track sid with its layer.
func trackID(trackSid string, layer int) string { return trackSid + "~" + strconv.Itoa(layer) }

func parseTrackID(id string) (trackSid string, layer int, ok bool) {
	i := strings.LastIndexByte(id, '~')
	if i <= 0 {
		return "", 0, false
	}
	layer, err := strconv.Atoi(id[i+1:])
	if err != nil || layer < 0 || layer >= sfu.MaxLayers {
		return "", 0, false
	}
	return id[:i], layer, true
}

// newPeer makes a relay's connections on sockets of their own; track and lost (either
// connection closed or failed, our own Close included) are the caller's.
func (rs *Relays) newPeer(logger *slog.Logger, track func(*webrtc.TrackRemote, *webrtc.RTPReceiver), lost func()) (*peer.Peer, error) {
	p, err := peer.New(rs.cfg.Engine, peer.Config{MaxOfferSDP: 1 << 20, Relay: true, Logger: logger}, peer.Callbacks{
		Candidate: func(peer.Side, *webrtc.ICECandidateInit) {}, // not trickled: the SDP has them all
		Failed:    lost,
		Closed:    lost,
		Track:     track,
		Data:      func(string, webrtc.DataChannelMessage) {},
	})
	if err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	return p, nil
}
