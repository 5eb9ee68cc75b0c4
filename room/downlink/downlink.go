// Package downlink is what one participant receives: its subscriptions (a down track each),
// the layer of every video, chosen by the allocator (room/alloc) from what the participant
// renders, who speaks and its estimate, the padding that probes its link, what it is told of
// its streams, and their stats. A Set belongs to its participant's control queue: every method
// runs there, except IdealLayer.
package downlink

import (
	"log/slog"
	"sync"
	"time"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room/alloc"
	"github.com/podium-sfu/podium/room/stats"
	"github.com/podium-sfu/podium/sfu"
)

// Track is a published track a participant may receive.
type Track interface {
	Sid() string
	Receiver() *sfu.Receiver
	Info() protocol.TrackInfo // a copy, safe from any goroutine
	OwnerSid() string
	OwnerIdentity() string
}

// Peer is what a Set asks of its participant's subscriber connection.
type Peer interface {
	NewDownTrack(r *sfu.Receiver, params sfu.DownTrackParams) *sfu.DownTrack
	RemoveTrack(dt *sfu.DownTrack) error
	Mid(dt *sfu.DownTrack) string
	Estimate() int
	MeasuredEstimate() (bps int, measured bool)
	EstimatorStats() map[string]any
}

// Host is the participant a Set belongs to.
type Host struct {
	Peer Peer
	Send func(protocol.Message)
	// Queue runs f on the participant's control queue; false when it has left.
	Queue    func(f func()) bool
	Logger   *slog.Logger
	Speakers func() alloc.Speakers
	// BandwidthEstimation makes the estimate the budget of the allocation (room.Config).
	BandwidthEstimation bool
	MaxBitrate          int            // the engine's cap on one video
	Retired             *stats.Retired // counts of the subscriptions that ended
}

type subscription struct {
	track       Track
	dt          *sfu.DownTrack
	announced   bool
	settings    *protocol.TrackSettings // what the subscriber renders; nil: nothing said
	lastState   string                  // last streamState sent, to send changes only
	pauseReason string
	ideal       int       // layer wanted if every layer flowed (what dynacast keeps on)
	flowing     time.Time // since when the allocator has kept it on; zero: paused or not yet allocated
}

// Set is one participant's subscriptions.
type Set struct {
	host     Host
	subs     map[string]*subscription // by track sid
	settings map[string]protocol.TrackSettings
	alloc    alloc.Subscriber     // the allocator's memory: budget hysteresis, probing
	resends  sfu.RetransmitBudget // every down track's retransmissions together (Allocate sets it)
	stopped  bool

	mu     sync.Mutex
	ideals map[string]int // track sid -> layer this subscriber would take if all flowed
}

// New makes an empty Set for h.
func New(h Host) *Set {
	return &Set{host: h, subs: map[string]*subscription{}, settings: map[string]protocol.TrackSettings{}, ideals: map[string]int{}}
}

// Len is the number of subscriptions.
func (s *Set) Len() int { return len(s.subs) }

// Has reports whether the participant receives the track.
func (s *Set) Has(sid string) bool { return s.subs[sid] != nil }

// Sync ends the subscriptions to tracks not in want and starts those missing (add puts a down
// track on the connection); it reports whether anything changed.
func (s *Set) Sync(want map[string]Track, add func(*sfu.DownTrack) error) bool {
	changed := false
	for sid, sub := range s.subs {
		if want[sid] != sub.track {
			s.unsubscribe(sub)
			changed = true
		}
	}
	for sid, t := range want {
		if s.subs[sid] != nil {
			continue
		}
		if err := s.Subscribe(t, add); err != nil {
			s.host.Logger.Error("subscribe failed", "track", sid, "err", err)
			continue
		}
		changed = true
	}
	return changed
}

// Subscribe starts receiving t on a down track that add puts on the connection. Its layer is
// chosen before its first packet.
func (s *Set) Subscribe(t Track, add func(*sfu.DownTrack) error) error {
	sid := t.Sid()
	dt := s.host.Peer.NewDownTrack(t.Receiver(), sfu.DownTrackParams{
		TrackID: sid, StreamID: t.OwnerSid(), Logger: s.host.Logger.With("track", sid), StartFromCache: true,
		RetransmitBudget: &s.resends,
		// Called from a packet reader: hop onto the control queue.
		OnLayer: func(layer int) { s.host.Queue(func() { s.layerForwarded(sid, layer) }) },
	})
	if err := add(dt); err != nil {
		return err
	}
	sub := &subscription{track: t, dt: dt}
	if st, ok := s.settings[sid]; ok {
		sub.settings = &st
	}
	s.subs[sid] = sub
	s.Allocate(time.Now())
	t.Receiver().AddDownTrack(dt)
	return nil
}

func (s *Set) unsubscribe(sub *subscription) {
	sub.track.Receiver().RemoveDownTrack(sub.dt)
	if err := s.host.Peer.RemoveTrack(sub.dt); err != nil {
		s.host.Logger.Debug("remove track", "err", err)
	}
	sub.dt.WaitRTCP()
	s.host.Retired.DownTrack(sub.dt.Stats())
	delete(s.subs, sub.track.Sid())
}

// SetSettings records what the participant renders of a track, kept for a subscription that
// starts later; it reports whether the track is received now (its layer is then chosen again
// at the next Allocate).
func (s *Set) SetSettings(m protocol.TrackSettings) bool {
	s.settings[m.TrackSid] = m
	sub := s.subs[m.TrackSid]
	if sub == nil {
		return false
	}
	sub.settings = &m
	return true
}

// Announce tells the participant of the subscriptions the subscriber offer being sent adds,
// with their mids.
func (s *Set) Announce() {
	for _, sub := range s.subs {
		if !sub.announced {
			sub.announced = true
			s.host.Send(&protocol.TrackSubscribed{ParticipantSid: sub.track.OwnerSid(), TrackSid: sub.track.Sid(), Mid: s.host.Peer.Mid(sub.dt)})
		}
	}
}

// IdealLayer is the layer of a track the participant would receive if every layer flowed;
// safe from any goroutine (a publisher's dynacast reads it).
func (s *Set) IdealLayer(trackSid string) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.ideals[trackSid]
	return l, ok
}

// Stop makes the Set ignore what its down tracks report: the participant is leaving.
func (s *Set) Stop() { s.stopped = true }

// Detach stops every down track's media, before the connection closes.
func (s *Set) Detach() {
	for _, sub := range s.subs {
		sub.track.Receiver().RemoveDownTrack(sub.dt)
	}
}

// Retire waits for every down track's feedback reader and keeps its counts, once the
// connection has closed.
func (s *Set) Retire() {
	for _, sub := range s.subs {
		sub.dt.WaitRTCP()
		s.host.Retired.DownTrack(sub.dt.Stats())
	}
}

// layerForwarded runs when a down track starts forwarding another layer (or stops).
func (s *Set) layerForwarded(trackSid string, layer int) {
	if sub := s.subs[trackSid]; sub != nil && !s.stopped {
		reason := ""
		if layer == sfu.LayerNone {
			reason = sub.pauseReason
		}
		if layer != sfu.LayerNone {
			s.host.Retired.LayerSwitch()
		}
		s.sendStreamState(sub, layer, reason)
	}
}

// sendStreamState tells the subscriber what it receives for a video, once per change.
func (s *Set) sendStreamState(sub *subscription, layer int, reason string) {
	if layer == sfu.LayerNone {
		sub.pauseReason = reason
	}
	msg := &protocol.StreamState{TrackSid: sub.track.Sid(), State: "paused", Reason: reason}
	if layer != sfu.LayerNone {
		rid := stats.LayerRID(layer, sub.track.Receiver().Stats().Layers)
		msg.State, msg.Layer, msg.Reason = "active", &rid, ""
	}
	key := msg.State + "/" + msg.Reason
	if msg.Layer != nil {
		key += "/" + *msg.Layer
	}
	if key == sub.lastState {
		return
	}
	sub.lastState = key
	s.host.Send(msg)
}

// Stats snapshots the subscriptions.
func (s *Set) Stats() []stats.Subscription {
	out := make([]stats.Subscription, 0, len(s.subs))
	for sid, sub := range s.subs {
		t := sub.track
		st := stats.NewSubscription(t.Info(), t.OwnerSid(), t.OwnerIdentity(), t.Receiver().Stats().Layers, sub.dt.Stats())
		if set, ok := s.settings[sid]; ok {
			st.Settings = &set
		}
		out = append(out, st)
	}
	return out
}
