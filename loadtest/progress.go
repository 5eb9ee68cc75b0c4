package loadtest

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/podium-sfu/podium/loadtest/report"
)

// progress prints one live status line, rewritten every second.
type progress struct {
	r       *run
	w       io.Writer
	printed bool

	lastAt             time.Time
	lastSent, lastRecv uint64
}

func (p *progress) run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p.print()
		}
	}
}

func (p *progress) print() {
	r := p.r
	now := time.Now()
	joined, connected := 0, 0
	var sent, recv, lost, expect, freezes uint64
	for _, pt := range r.all {
		if pt.live.Load() == nil {
			continue
		}
		joined++
		if pt.connected() {
			connected++
		}
		s, rv := pt.wireBytes()
		sent += s
		recv += rv
		for _, t := range pt.snapshot(now, false) {
			lost += t.lost()
			expect += t.Expect
			freezes += t.Freezes
		}
	}
	var outMbps, inMbps float64
	if !p.lastAt.IsZero() {
		secs := now.Sub(p.lastAt).Seconds()
		outMbps = float64(sent-p.lastSent) * 8 / secs / 1e6
		inMbps = float64(recv-p.lastRecv) * 8 / secs / 1e6
	}
	p.lastAt, p.lastSent, p.lastRecv = now, sent, recv
	phase, start := r.currentPhase()
	if phase == phaseMeasuring {
		phase = fmt.Sprintf("%s %.0f/%.0fs", phase, now.Sub(start).Seconds(), r.cfg.Duration.Seconds())
	}
	cpu := ""
	if last, _, ok, _ := r.watch.State(); ok {
		cpu = fmt.Sprintf(" | server CPU %.1fs RSS %.0fMB", last.CPUSeconds, last.RSSBytes/(1<<20))
	}
	fmt.Fprintf(p.w, "\r\033[K%-18s joined %d/%d connected %d | out %.1f Mbps in %.1f Mbps | loss %.3f%% freezes %d%s",
		phase, joined, len(r.all), connected, outMbps, inMbps, report.Percent(lost, expect), freezes, cpu)
	p.printed = true
}

// finish ends the line so that what follows starts on its own.
func (p *progress) finish() {
	if p.printed && p.w != nil {
		fmt.Fprintln(p.w)
	}
}
