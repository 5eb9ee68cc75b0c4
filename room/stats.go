package room

import (
	"time"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/sfu"
)

// Read-only snapshots for operators (the admin dashboard): what each participant publishes and
// what the server forwards to it. Counters are cumulative; a caller derives rates from two
// snapshots.

// TrackStats is a snapshot of one published track.
type TrackStats struct {
	Info                      protocol.TrackInfo
	Packets, Bytes, Keyframes uint64 // all layers together
	DirectPackets             uint64 // of Packets, those Podium's own read path received
	// Layers are the simulcast layers received (one for a track without simulcast).
	Layers []LayerStats
	// AudioLevel is the RFC 6464 level of the last audio packet (0 loudest, 127 silence).
	AudioLevel  uint8
	Subscribers int
}

// LayerStats is what arrives of one layer of a published track.
type LayerStats struct {
	RID           string
	Active        bool // a packet arrived within the last second
	Bitrate       uint64
	FPS           uint32
	Width, Height int // from the last keyframe, 0 when unknown
}

// SubscriptionStats is a snapshot of one track forwarded to a subscriber.
type SubscriptionStats struct {
	TrackSid, PublisherSid, PublisherIdentity string
	Kind, Source                              string
	// Layer is the simulcast layer forwarded ("q", "h", "f"); empty for audio and for a video
	// that is paused or not started.
	Layer                                    string
	Paused                                   bool // a video forwarding no layer
	Packets, Bytes, NACKs, Retransmits, PLIs uint64
	DirectPackets                            uint64  // sent by Podium's own write path
	DirectRTCP                               uint64  // the subscriber's RTCP for it taken by Podium's read path
	FractionLost                             float64 // from the subscriber's last receiver report
	RTT                                      time.Duration
	// Settings is the last trackSettings the subscriber sent for the track, if any.
	Settings *protocol.TrackSettings
}

// ParticipantStats is a snapshot of one participant.
type ParticipantStats struct {
	Info                            protocol.ParticipantInfo
	Hidden                          bool
	PublisherState, SubscriberState string
	Tracks                          []TrackStats
	Subscriptions                   []SubscriptionStats
	// Quality is the last connection quality announced for the participant ("" before any).
	Quality string
	// DownlinkEstimate is the bandwidth estimate towards the participant (bits/s; -1 without
	// one): what its video budget is made of.
	DownlinkEstimate int
	// Partial is true when the participant's control queue did not answer within the timeout
	// (Subscriptions is then empty).
	Partial bool
}

// ParticipantStats snapshots every participant of the room, hidden ones included, in joining
// order. Each participant's subscriptions are read on its control queue, waiting at most
// timeout for it.
func (r *Room) ParticipantStats(timeout time.Duration) []ParticipantStats {
	r.mu.Lock()
	list := r.sortedLocked()
	r.mu.Unlock()
	out := make([]ParticipantStats, 0, len(list))
	for _, p := range list {
		out = append(out, p.Stats(timeout))
	}
	return out
}

// Stats snapshots the participant; see Room.ParticipantStats.
func (p *Participant) Stats(timeout time.Duration) ParticipantStats {
	pubState, subState := p.peer.States()
	ps := ParticipantStats{
		Info: p.Info(), Hidden: p.perms.Hidden,
		PublisherState: pubState.String(), SubscriberState: subState.String(),
		DownlinkEstimate: p.peer.Estimate(),
	}
	for _, t := range p.publishedTracks() {
		p.mu.Lock()
		info := t.info
		p.mu.Unlock()
		rs := t.receiver.Stats()
		ts := TrackStats{Info: info, AudioLevel: rs.AudioLevel, Subscribers: rs.DownTracks}
		for _, l := range rs.Layers {
			ts.Packets += l.Packets
			ts.Bytes += l.Bytes
			ts.Keyframes += l.Keyframes
			ts.DirectPackets += l.Direct
			rid := l.RID
			if simulcast(info, rs.Layers) {
				rid = layerRID(l.Index, info.Layers, rs.Layers)
			}
			ts.Layers = append(ts.Layers, LayerStats{RID: rid, Active: l.Active, Bitrate: l.Bitrate, FPS: l.FPS, Width: l.Width, Height: l.Height})
		}
		ps.Tracks = append(ps.Tracks, ts)
	}
	subs, quality, ok := p.subscriptionStats(timeout)
	ps.Subscriptions, ps.Quality, ps.Partial = subs, quality, !ok
	return ps
}

// DominantSpeaker is the sid of the room's dominant speaker, "" before anyone spoke.
func (r *Room) DominantSpeaker() string {
	return r.speakerState().dominant
}

// subscriptionStats reads the subscriptions and the quality on the control queue, which owns
// them.
func (p *Participant) subscriptionStats(timeout time.Duration) ([]SubscriptionStats, string, bool) {
	type answer struct {
		subs    []SubscriptionStats
		quality string
	}
	res := make(chan answer, 1) // buffered: a late answer after a timeout is dropped
	if !p.q.push(func() {
		out := make([]SubscriptionStats, 0, len(p.subs))
		for sid, s := range p.subs {
			owner := s.track.owner
			owner.mu.Lock()
			info := s.track.info
			owner.mu.Unlock()
			ds := s.dt.Stats()
			st := SubscriptionStats{
				TrackSid: sid, PublisherSid: owner.sid, PublisherIdentity: owner.identity,
				Kind: info.Kind, Source: info.Source, Packets: ds.Packets, Bytes: ds.Bytes,
				NACKs: ds.NACKs, Retransmits: ds.Retransmits, PLIs: ds.PLIs, DirectPackets: ds.Direct, DirectRTCP: ds.DirectRTCP,
				FractionLost: ds.FractionLost, RTT: ds.RTT,
			}
			if info.Kind == protocol.KindVideo {
				layers := s.track.receiver.Stats().Layers
				switch {
				case ds.CurrentLayer == sfu.LayerNone:
					st.Paused = true
				case simulcast(info, layers):
					st.Layer = layerRID(ds.CurrentLayer, info.Layers, layers)
				}
			}
			if set, ok := p.settings[sid]; ok {
				st.Settings = &set
			}
			out = append(out, st)
		}
		res <- answer{out, p.quality}
	}) {
		return nil, "", true // closed: it subscribes to nothing any more
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case a := <-res:
		return a.subs, a.quality, true
	case <-timer.C:
		return nil, "", false
	}
}

// simulcast reports whether a track is a video sent as several layers (announced or received).
func simulcast(info protocol.TrackInfo, layers []sfu.LayerStats) bool {
	return info.Kind == protocol.KindVideo && (len(info.Layers) > 1 || len(layers) > 1)
}
