package room

import (
	"time"

	"github.com/podium-sfu/podium/protocol"
)

// Read-only snapshots for operators (the admin dashboard): what each participant publishes and
// what the server forwards to it. Counters are cumulative; a caller derives rates from two
// snapshots.

// TrackStats is a snapshot of one published track.
type TrackStats struct {
	Info                      protocol.TrackInfo
	Packets, Bytes, Keyframes uint64
	// AudioLevel is the RFC 6464 level of the last audio packet (0 loudest, 127 silence).
	AudioLevel  uint8
	Subscribers int
}

// SubscriptionStats is a snapshot of one track forwarded to a subscriber.
type SubscriptionStats struct {
	TrackSid, PublisherSid, PublisherIdentity string
	Kind, Source                              string
	// Layer is the simulcast layer forwarded ("q", "h", "f"); empty while the server forwards
	// one stream per track.
	Layer                                    string
	Packets, Bytes, NACKs, Retransmits, PLIs uint64
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
	ps := ParticipantStats{
		Info: p.Info(), Hidden: p.perms.Hidden,
		PublisherState: p.pub.ConnectionState().String(), SubscriberState: p.sub.ConnectionState().String(),
	}
	for _, t := range p.publishedTracks() {
		p.mu.Lock()
		info := t.info
		p.mu.Unlock()
		rs := t.receiver.Stats()
		ps.Tracks = append(ps.Tracks, TrackStats{Info: info, Packets: rs.Packets, Bytes: rs.Bytes,
			Keyframes: rs.Keyframes, AudioLevel: rs.AudioLevel, Subscribers: rs.DownTracks})
	}
	subs, ok := p.subscriptionStats(timeout)
	ps.Subscriptions, ps.Partial = subs, !ok
	return ps
}

// subscriptionStats reads the subscriptions on the control queue, which owns them.
func (p *Participant) subscriptionStats(timeout time.Duration) ([]SubscriptionStats, bool) {
	res := make(chan []SubscriptionStats, 1) // buffered: a late answer after a timeout is dropped
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
				NACKs: ds.NACKs, Retransmits: ds.Retransmits, PLIs: ds.PLIs,
			}
			if set, ok := p.settings[sid]; ok {
				st.Settings = &set
			}
			out = append(out, st)
		}
		res <- out
	}) {
		return nil, true // closed: it subscribes to nothing any more
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case out := <-res:
		return out, true
	case <-timer.C:
		return nil, false
	}
}
