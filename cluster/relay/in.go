package relay

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/cluster"
	"github.com/podium-sfu/podium/room/peer"
	"github.com/podium-sfu/podium/sfu"
)

// in receives one other node's tracks: it answers that node's offers and makes a receiver
// per track, a layer per relayed stream.
type in struct {
	rs     *Relays
	node   string
	peer   *peer.Peer
	logger *slog.Logger

	negotiate sync.Mutex  // one answer at a time: the peer's negotiation is not concurrent
	closing   atomic.Bool // this side closes it: its connection's end is no loss

	mu        sync.Mutex
	receivers map[string]*sfu.Receiver
	lastWant  map[string]uint8
	wantC     chan map[string]uint8
	ctx       context.Context // cancelled by close: a call to a dead node is given up at once
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

func newIn(rs *Relays, node string) (*in, error) {
	i := &in{rs: rs, node: node, logger: rs.logger.With("relay", "in", "from", node),
		receivers: map[string]*sfu.Receiver{}, wantC: make(chan map[string]uint8, 1)}
	p, err := rs.newPeer(i.logger, i.onTrack, func() { rs.inLost(i) })
	if err != nil {
		return nil, err
	}
	i.ctx, i.cancel = context.WithCancel(context.Background())
	i.peer = p
	i.wg.Add(1)
	go i.sendWants()
	return i, nil
}

// want queues the layers to ask for; only the newest waiting set is sent.
func (i *in) want(tracks map[string]uint8) {
	tracks = maps.Clone(tracks)
	for {
		select {
		case i.wantC <- tracks:
			return
		default:
		}
		select {
		case <-i.wantC: // drop the older set
		default:
		}
	}
}

// sendWants tells the source what to send, off the caller's goroutine; a failed call is
// retried with the newest set.
func (i *in) sendWants() {
	defer i.wg.Done()
	var pending map[string]uint8
	var retry <-chan time.Time
	for {
		select {
		case <-i.ctx.Done():
			return
		case w := <-i.wantC:
			pending = w
		case <-retry:
			retry = nil
		}
		if pending == nil || maps.Equal(pending, i.lastWant) {
			pending = nil
			continue
		}
		args, _ := json.Marshal(want{From: i.rs.cfg.Caller.ID(), Tracks: pending})
		reply, err := i.rs.call(i.ctx, i.node, cluster.Call{Op: OpWant, Args: args})
		if err == nil && reply.Error != "" {
			err = errors.New(reply.Error)
		}
		if err != nil {
			if i.ctx.Err() != nil {
				return
			}
			i.logger.Warn("relay: want", "err", err)
			retry = time.After(time.Second)
			continue
		}
		i.lastWant, pending = pending, nil
	}
}

func (i *in) answer(offer string, timeout time.Duration) (string, error) {
	i.negotiate.Lock()
	defer i.negotiate.Unlock()
	if _, err := i.peer.AnswerPublisher(offer); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return i.peer.GatheredAnswer(ctx, peer.Publisher)
}

// onTrack makes the track's receiver with its first stream and adds the others as layers.
func (i *in) onTrack(remote *webrtc.TrackRemote, rr *webrtc.RTPReceiver) {
	track, layer, ok := parseTrackID(remote.ID())
	if !ok {
		i.logger.Warn("relay: a stream that is not a relayed layer", "id", remote.ID())
		return
	}
	i.mu.Lock()
	r := i.receivers[track]
	first := r == nil
	if first {
		r = i.peer.NewReceiver(remote, rr, i.logger.With("track", track))
		i.receivers[track] = r
	}
	i.mu.Unlock()
	if err := r.AddLayer(layer, remote); err != nil {
		i.logger.Warn("relay: layer", "track", track, "layer", layer, "err", err)
		return
	}
	if first && i.rs.cfg.Sink != nil {
		i.rs.cfg.Sink.RemoteTrack(i.node, remote.StreamID(), track, r)
	}
}

func (i *in) packets() uint64 {
	i.mu.Lock()
	defer i.mu.Unlock()
	n := uint64(0)
	for _, r := range i.receivers {
		for _, l := range r.Stats().Layers {
			n += l.Packets
		}
	}
	return n
}

func (i *in) receiver(track string) *sfu.Receiver {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.receivers[track]
}

func (i *in) trackSids() []string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return slices.Sorted(maps.Keys(i.receivers))
}

func (i *in) forget(track string) {
	i.mu.Lock()
	r := i.receivers[track]
	delete(i.receivers, track)
	i.mu.Unlock()
	if r != nil {
		for _, l := range r.Stats().Layers {
			i.rs.retiredIn.Add(l.Packets)
		}
		r.Close()
	}
}

func (i *in) close() {
	i.closing.Store(true)
	i.cancel()
	i.wg.Wait()
	i.peer.Close()
	i.mu.Lock()
	rs := i.receivers
	i.receivers = map[string]*sfu.Receiver{}
	i.mu.Unlock()
	for _, r := range rs {
		for _, l := range r.Stats().Layers {
			i.rs.retiredIn.Add(l.Packets)
		}
		r.Close()
	}
}
