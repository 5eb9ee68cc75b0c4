package participant

import (
	"time"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room/alloc"
	"github.com/podium-sfu/podium/room/stats"
)

// Allocation explains the participant's last allocation: its estimate and budget, and per
// video it receives the layer wanted, the layer chosen and why (the server API's debug call).
// It runs on the control queue, where allocations run, and decides nothing anew.
func (p *Participant) Allocation() (protocol.Allocation, error) {
	var out protocol.Allocation
	err := p.onQueue(func() error {
		e := p.alloc.Last()
		out = protocol.Allocation{
			Identity: p.identity, AgeMillis: -1, Estimate: e.Estimate, VideoBudget: e.RawBudget, Budget: e.Budget,
			Desired: e.Desired, PausedForBandwidth: e.Paused, ProbeRate: e.ProbeRate, Tracks: []protocol.TrackAllocation{},
		}
		if !e.At.IsZero() {
			out.AgeMillis = time.Since(e.At).Milliseconds()
		}
		for _, v := range e.Videos {
			s := p.subs[v.Key]
			if s == nil {
				continue // unsubscribed since
			}
			layers := s.track.receiver.Stats().Layers
			rid := func(l int) string {
				if l < 0 {
					return ""
				}
				return stats.LayerRID(l, layers)
			}
			out.Tracks = append(out.Tracks, protocol.TrackAllocation{
				TrackSid: v.Key, Participant: s.track.owner.identity, Priority: alloc.PriorityName(v.Priority),
				Wanted: rid(v.Want), WantedBecause: v.WantWhy, Chosen: rid(v.Layer), Reason: v.Why,
				Forwarding: rid(s.dt.CurrentLayer()),
			})
		}
		return nil
	})
	return out, err
}
