package relay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/cluster"
	"github.com/podium-sfu/podium/room/peer"
	"github.com/podium-sfu/podium/sfu"
)

// out sends this node's tracks to one other node: a down track per wanted layer, pinned to
// it, on one peer connection that this side offers.
type out struct {
	rs     *Relays
	node   string
	peer   *peer.Peer
	logger *slog.Logger

	mu      sync.Mutex
	wanted  map[string]uint8 // by track sid, from the sink
	counted map[stream]*sfu.DownTrack
	sent    map[stream]*sentStream // the run goroutine's

	kickC   chan struct{}
	closing atomic.Bool     // this side closes it: its connection's end is no loss
	ctx     context.Context // cancelled by close: a call to a dead node is given up at once
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

type stream struct {
	track string
	layer int
}

type sentStream struct {
	r  *sfu.Receiver
	dt *sfu.DownTrack
}

func newOut(rs *Relays, node string) (*out, error) {
	o := &out{rs: rs, node: node, logger: rs.logger.With("relay", "out", "to", node),
		wanted: map[string]uint8{}, sent: map[stream]*sentStream{}, counted: map[stream]*sfu.DownTrack{},
		kickC: make(chan struct{}, 1)}
	p, err := rs.newPeer(o.logger, func(*webrtc.TrackRemote, *webrtc.RTPReceiver) {}, func() { rs.outLost(o) })
	if err != nil {
		return nil, err
	}
	o.ctx, o.cancel = context.WithCancel(context.Background())
	o.peer = p
	o.wg.Add(1)
	go o.run()
	return o, nil
}

func (o *out) kick() {
	select {
	case o.kickC <- struct{}{}:
	default:
	}
}

func (o *out) setWanted(tracks map[string]uint8) {
	o.mu.Lock()
	o.wanted = maps.Clone(tracks)
	o.mu.Unlock()
	o.kick()
}

// needed is what the sink wants of a track and this side sends.
func (o *out) needed(track string) uint8 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.wanted[track]
}

func (o *out) run() {
	defer o.wg.Done()
	reports := time.NewTicker(time.Second)
	defer reports.Stop()
	var retry <-chan time.Time
	for {
		select {
		case <-o.ctx.Done():
			return
		case now := <-reports.C:
			o.peer.SendReports(now)
		case <-retry:
			retry = nil
			o.kick()
		case <-o.kickC:
			if err := o.reconcile(); err != nil {
				if o.ctx.Err() != nil {
					return
				}
				o.logger.Warn("relay: negotiation", "err", err)
				retry = time.After(time.Second)
			}
		}
	}
}

// reconcile makes the sent streams what the sink wants and renegotiates when the set of
// m-sections changed; a layer no longer wanted is paused, not removed.
func (o *out) reconcile() error {
	o.mu.Lock()
	wanted := maps.Clone(o.wanted)
	o.mu.Unlock()
	changed := false
	for s, ss := range o.sent {
		r, _, ok := o.rs.cfg.Source.LocalTrack(s.track)
		if !ok || r != ss.r || wanted[s.track] == 0 {
			o.remove(s, ss)
			changed = true
			continue
		}
		if wanted[s.track]&(1<<s.layer) == 0 {
			ss.dt.SetTargetLayer(sfu.LayerNone)
		} else {
			ss.dt.SetTargetLayer(s.layer)
		}
	}
	for track, mask := range wanted {
		r, owner, ok := o.rs.cfg.Source.LocalTrack(track)
		if !ok {
			continue
		}
		for layer := range sfu.MaxLayers {
			s := stream{track, layer}
			if mask&(1<<layer) == 0 || o.sent[s] != nil {
				continue
			}
			dt := o.peer.NewDownTrack(r, sfu.DownTrackParams{TrackID: trackID(track, layer),
				StreamID: owner, Logger: o.logger.With("track", track, "layer", layer)})
			if err := o.peer.AddTrack(dt); err != nil {
				return fmt.Errorf("add %s: %w", trackID(track, layer), err)
			}
			o.sent[s] = &sentStream{r: r, dt: dt}
			o.mu.Lock()
			o.counted[s] = dt
			o.mu.Unlock()
			dt.SetTargetLayer(layer)
			r.AddDownTrack(dt)
			changed = true
		}
	}
	if !changed {
		return nil
	}
	return o.negotiate()
}

// packets counts what the out relay's streams have sent. Its maps are the run goroutine's,
// so the count is kept beside them.
func (o *out) packets() uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := uint64(0)
	for _, dt := range o.counted {
		n += dt.Stats().Packets
	}
	return n
}

func (o *out) remove(s stream, ss *sentStream) {
	o.mu.Lock()
	delete(o.counted, s)
	o.mu.Unlock()
	o.rs.retiredOut.Add(ss.dt.Stats().Packets)
	ss.r.RemoveDownTrack(ss.dt)
	if err := o.peer.RemoveTrack(ss.dt); err != nil {
		o.logger.Debug("relay: remove track", "err", err)
	}
	ss.dt.WaitRTCP()
	delete(o.sent, s)
}

// negotiate offers the connection's m-sections with every candidate and applies the answer.
func (o *out) negotiate() error {
	if _, err := o.peer.OfferSubscriber(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(o.ctx, o.rs.cfg.Timeout)
	defer cancel()
	offer, err := o.peer.GatheredAnswer(ctx, peer.Subscriber)
	if err != nil {
		return fmt.Errorf("gathering: %w", err)
	}
	args, _ := json.Marshal(sdpMsg{From: o.rs.cfg.Caller.ID(), SDP: offer})
	reply, err := o.rs.call(o.ctx, o.node, cluster.Call{Op: OpOffer, Args: args})
	if err == nil && reply.Error != "" {
		err = errors.New(reply.Error)
	}
	var answer sdpMsg
	if err == nil {
		err = json.Unmarshal(reply.Result, &answer)
	}
	if err != nil {
		return fmt.Errorf("offer to %s: %w", o.node, err)
	}
	return o.peer.ApplyAnswer(answer.SDP)
}

func (o *out) close() {
	o.closing.Store(true)
	o.cancel()
	o.wg.Wait()
	for s, ss := range o.sent {
		o.remove(s, ss)
	}
	o.peer.Close()
}
