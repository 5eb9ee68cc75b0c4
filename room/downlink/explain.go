package downlink

import (
	"time"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room/alloc"
	"github.com/podium-sfu/podium/room/stats"
)

// Explain describes the last allocation: the estimate and budget, and per video received the
// layer wanted, the layer chosen and why (the server API's debug call). It decides nothing anew.
func (s *Set) Explain(identity string) protocol.Allocation {
	e := s.alloc.Last()
	out := protocol.Allocation{
		Identity: identity, AgeMillis: -1, Estimate: e.Estimate, VideoBudget: e.RawBudget, Budget: e.Budget,
		Desired: e.Desired, PausedForBandwidth: e.Paused, ProbeRate: e.ProbeRate, Tracks: []protocol.TrackAllocation{},
	}
	if !e.At.IsZero() {
		out.AgeMillis = time.Since(e.At).Milliseconds()
	}
	for _, v := range e.Videos {
		sub := s.subs[v.Key]
		if sub == nil {
			continue // unsubscribed since
		}
		layers := sub.track.Receiver().Stats().Layers
		rid := func(l int) string {
			if l < 0 {
				return ""
			}
			return stats.LayerRID(l, layers)
		}
		t := protocol.TrackAllocation{
			TrackSid: v.Key, Participant: sub.track.OwnerIdentity(), Priority: alloc.PriorityName(v.Priority),
			Wanted: rid(v.Want), WantedBecause: v.WantWhy, Chosen: rid(v.Layer), Reason: v.Why,
			Forwarding: rid(sub.dt.CurrentLayer()),
		}
		if v.Layer >= 0 && v.Temporal < alloc.AllTemporal {
			t.ChosenTemporal = &v.Temporal
		}
		out.Tracks = append(out.Tracks, t)
	}
	return out
}
