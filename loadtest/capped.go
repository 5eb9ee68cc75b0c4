package loadtest

import (
	"errors"
	"time"

	"github.com/pion/transport/v5"

	"github.com/podium-sfu/podium/loadtest/report"
	"github.com/podium-sfu/podium/loadtest/shaper"
	"github.com/podium-sfu/podium/protocol"
)

// After a lift the link counts as found once a 500 ms average of what it delivers exceeds
// recoverFactor times the old cap: 1.2 Mbps after 800 kbps, the figure of issue 22.
const recoverFactor = 1.5

func (c *Config) capErrors() error {
	switch {
	case c.DownlinkCap < 0 || c.CapLiftTo < 0 || c.CapQueue < 0 || c.CapLiftAfter < 0:
		return errors.New("downlink cap, its queue and its lift must not be negative")
	case c.DownlinkCap > 0 && c.Subscribers == 0:
		return errors.New("a downlink cap applies to subscribers: add some")
	case c.CapLiftAfter > 0 && (c.DownlinkCap <= 0 || c.CapLiftTo <= 0 || c.CapLiftAfter >= c.Duration):
		return errors.New("a cap lift needs a cap, a rate to lift it to, and a time within the window")
	}
	return nil
}

// newLink is the capped downlink of a participant of this role; nil: none.
func (c *Config) newLink(role string) *shaper.Link {
	if c.DownlinkCap <= 0 || role != RoleSubscriber {
		return nil
	}
	return shaper.NewLink(shaper.Config{Rate: c.DownlinkCap, QueueBytes: int(c.DownlinkCap * c.CapQueue.Seconds() / 8)}, time.Now())
}

// clientNet is the network of p's peer connections: the host's with large socket buffers,
// behind p's capped link when it has one (unshaped if that fails: the report shows no use).
func (p *participant) clientNet() transport.Net {
	n := shaper.BigBuffers(shaper.ClientSocketBuffer)
	if p.link != nil {
		if shaped, err := shaper.Net(n, p.link); err == nil {
			return shaped
		}
	}
	return n
}

// liftCaps snapshots what the capped participants received so far and lifts their caps.
func (r *run) liftCaps() *windowSnap {
	s := &windowSnap{at: time.Now(), tracks: make([]map[string]trackSnapshot, len(r.all))}
	for i, p := range r.all {
		if p.link != nil {
			s.tracks[i] = p.snapshot(s.at, false)
			p.link.SetRate(s.at, r.cfg.CapLiftTo)
		}
	}
	return s
}

// addCapped reports each capped subscriber: its link's use at the cap, its media and its
// cameras' pauses and resumes meanwhile, and after a lift how soon the link carried more.
func (rep *reportBuilder) addCapped(cfg *Config, all []*participant, start windowSnap, lift *windowSnap, end windowSnap) {
	capped, liftAt := end, time.Time{}
	if lift != nil {
		capped, liftAt = *lift, lift.at
	}
	for i, p := range all {
		if p.link == nil || p.c == nil {
			continue
		}
		u := p.link.Use(start.at, liftAt, end.at, 500*time.Millisecond, recoverFactor*cfg.DownlinkCap)
		v := report.CappedViewer{Identity: p.identity, CapKbps: cfg.DownlinkCap / 1000, CappedSeconds: u.Seconds,
			LinkKbps: u.Kbps, CapUsePercent: 100 * u.Kbps * 1000 / cfg.DownlinkCap, Dropped: u.Dropped}
		var media, padding uint64
		for sid, e := range capped.tracks[i] {
			d := e.trackCounters.minus(start.tracks[i][sid].trackCounters)
			media, padding = media+d.Bytes-d.PaddingBytes, padding+d.PaddingBytes
			if e.kind == protocol.KindVideo && e.source != protocol.SourceScreen {
				v.Pauses, v.Resumes = v.Pauses+d.Pauses, v.Resumes+d.Resumes
			}
		}
		if secs := capped.at.Sub(start.at).Seconds(); secs > 0 {
			v.MediaKbps, v.PaddingKbps = float64(media)*8/secs/1000, float64(padding)*8/secs/1000
		}
		if lift != nil {
			v.LiftedKbps, v.RecoverKbps, v.AfterLiftKbps = cfg.CapLiftTo/1000, recoverFactor*v.CapKbps, u.AfterKbps
			v.RecoveredMillis = float64(u.Found.Microseconds()) / 1000
			if u.Found < 0 {
				v.RecoveredMillis = -1
			}
		}
		rep.Capped = append(rep.Capped, v)
	}
}
