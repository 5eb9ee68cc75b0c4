package loadtest

import (
	"context"
	"net/url"
	"time"

	"github.com/podium-sfu/podium/loadtest/probe"
	"github.com/podium-sfu/podium/loadtest/report"
)

// nodeSnap is one cluster node's counters at an edge of the window.
type nodeSnap struct {
	probe.NodeSample
	err error
}

// sampleNodes reads every node's /metrics in a cluster run (nil for one node).
func (r *run) sampleNodes(ctx context.Context) []nodeSnap {
	if len(r.cfg.nodes) < 2 {
		return nil
	}
	out := make([]nodeSnap, len(r.cfg.nodes))
	for i, n := range r.cfg.nodes {
		u, err := url.Parse(n)
		if err != nil {
			out[i].err = err
			continue
		}
		out[i].NodeSample, out[i].err = probe.SampleNode(ctx, metricsURL(u))
	}
	return out
}

// addNodes reports each node of a cluster run: who joined through it and what it did.
func (rep *reportBuilder) addNodes(nodes []string, all []*participant, start, end windowSnap) {
	if len(start.nodes) != len(nodes) || len(end.nodes) != len(nodes) {
		return
	}
	secs := end.at.Sub(start.at).Seconds()
	for i, n := range nodes {
		nr := report.NodeReport{URL: n}
		var joins []time.Duration
		for _, p := range all {
			if p.url == n && p.c != nil {
				nr.Participants++
				joins = append(joins, p.joinLatency)
			}
		}
		nr.JoinMillis = report.NewDistribution(report.Millis(joins))
		a, b := start.nodes[i], end.nodes[i]
		if err := a.err; err != nil || b.err != nil {
			if err == nil {
				err = b.err
			}
			nr.Error = err.Error()
			rep.Nodes = append(rep.Nodes, nr)
			continue
		}
		if secs > 0 {
			nr.CPUCores = (b.CPUSeconds - a.CPUSeconds) / secs
			nr.PacketsOutPerSec = (b.PacketsOut - a.PacketsOut) / secs
			nr.RelayOutPerSec = (b.RelayPacketsOut - a.RelayPacketsOut) / secs
			nr.RelayInPerSec = (b.RelayPacketsIn - a.RelayPacketsIn) / secs
		}
		if sent := nr.PacketsOutPerSec + nr.RelayOutPerSec; sent > 0 {
			nr.CPUMicrosPerPacket = nr.CPUCores / sent * 1e6
			if f := rep.Floor; f != nil && f.CPUMicros > 0 {
				nr.RatioToFloor = nr.CPUMicrosPerPacket / f.CPUMicros
			}
		}
		rep.Nodes = append(rep.Nodes, nr)
	}
}
