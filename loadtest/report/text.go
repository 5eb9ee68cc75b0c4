package report

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// maxSubscriberRows is how many per-subscriber rows the text report lists; JSON has them all.
const maxSubscriberRows = 30

// WriteText renders the report for people.
func (rep *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	sc := rep.Scenario
	onOff := map[bool]string{true: "on", false: "off"}
	fmt.Fprintf(&b, "scenario      %d room(s) × %d publishers + %d audio publishers + %d subscribers; view %s; simulcast %s; screen share %s; speakers %s\n",
		sc.Rooms, sc.Publishers, sc.AudioPublishers, sc.Subscribers, sc.View, onOff[sc.Simulcast], onOff[sc.ScreenShare], speakerEvery(sc.SpeakerSeconds))
	fmt.Fprintf(&b, "participants  %d joined of %d, %d failed, %d without media on every expected track\n",
		rep.Joined, rep.Participants, rep.Failed, rep.MissingMedia)
	for _, e := range rep.Errors {
		fmt.Fprintf(&b, "  error: %s\n", e)
	}
	fmt.Fprintf(&b, "join          %s  (dial → joined)\n", msDist(rep.JoinMillis))
	if sc.JoinRate > 0 {
		fmt.Fprintf(&b, "join rate     %g a second: the last dialed %.1f s after the first\n", sc.JoinRate, rep.JoinSpreadSeconds)
	}
	fmt.Fprintf(&b, "first media   %s  (dial → first packet)\n", msDist(rep.FirstMediaMillis))
	fmt.Fprintf(&b, "all media     %s  (dial → media on every expected track)\n", msDist(rep.AllMediaMillis))
	if rep.PlayingMillis.N > 0 {
		fmt.Fprintf(&b, "all playing   %s  (first packet → media on every expected track)\n", msDist(rep.PlayingMillis))
	}
	if rep.PublishMillis.N > 0 {
		fmt.Fprintf(&b, "publish       %s  (publish → negotiated, all tracks)\n", msDist(rep.PublishMillis))
	}
	fmt.Fprintf(&b, "window        %.1f s measured; the load generator used %.2f CPU cores\n", rep.WindowSeconds, rep.LoadCPUCores)
	fmt.Fprintf(&b, "traffic       load → server %.1f Mbps, server → load %.1f Mbps (wire); %d packets forwarded (%.0f/s)\n",
		rep.SentMbps, rep.ReceivedMbps, rep.ForwardedPackets, rep.ForwardedPacketsPerSec)
	d := rep.ReceivedKbps
	fmt.Fprintf(&b, "per receiver  %.0f / %.0f / %.0f kbps (min / p50 / max); camera layers %s\n", d.Min, d.P50, d.Max, layerMix(rep.Layers))
	fmt.Fprintf(&b, "loss          %.3f%% (%d of %d packets never arrived); %d repaired by NACK or reordered, %d repeated; %d keyframe restarts by publishers\n",
		rep.Loss.Percent, rep.Loss.Lost, rep.Loss.Expected, rep.Loss.Late, rep.Loss.Duplicates, rep.KeyframeRestarts)
	if c := rep.ServerCounters; c != nil {
		fmt.Fprintf(&b, "server counts %d packets in, %d forwarded + %d retransmitted; subscribers NACKed %d, sent %d PLIs\n",
			c.PacketsIn, c.PacketsOut, c.Retransmits, c.NACKs, c.PLIs)
	}
	if k := rep.KernelUDP; k != nil {
		fmt.Fprintf(&b, "kernel UDP    %d datagrams in, %d dropped on full receive buffers, %d on full send buffers (this network namespace)\n",
			k.InDatagrams, k.RcvbufErrors, k.SndbufErrors)
	}
	fmt.Fprintf(&b, "freezes       %d in %d episodes (%.1f s in all; a freeze is no complete frame for over %v)\n",
		rep.Freezes, rep.FreezeEpisodes, rep.FreezeSeconds, FreezeThreshold)
	fmt.Fprintf(&b, "paused        %.1f%% of the cameras' time the server forwarded nothing of them (too little bandwidth)%s\n",
		rep.VideoPausedPercent, mostPaused(rep.Subscribers))
	rep.writeCapped(&b)
	if s := rep.Speakers; s != nil {
		fmt.Fprintf(&b, "speakers      %d turns; switch to top layer %s; dominant speaker signal %s; %d false switches seen\n",
			s.Turns, speakerDist(s.TopLayerMillis, s, true), speakerDist(s.DominantMillis, s, false), s.FalseSwitches)
		if len(s.TopLayerByTurn) > 0 {
			fmt.Fprintf(&b, "  top layer, the slowest subscriber of each turn: %v ms\n", s.TopLayerByTurn)
		}
	}
	rep.writeServer(&b)
	rep.writeNodes(&b)
	if m := rep.Machine; m != nil {
		fmt.Fprintf(&b, "machine       %d CPUs, %.2f busy in the window of which %.2f by other processes; load average %.1f → %.1f\n",
			m.CPUs, m.BusyCores, max(0, m.OtherCores), m.LoadAvgStart, m.LoadAvgEnd)
	}
	rep.writeSubscribers(&b)
	for _, n := range rep.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (rep *Report) writeServer(b *strings.Builder) {
	s := rep.Server
	fmt.Fprintf(b, "server        %s\n", s.Source)
	if s.Error != "" {
		fmt.Fprintf(b, "  error: %s\n", s.Error)
	}
	fmt.Fprintf(b, "  CPU %.2f s in the window (%.2f cores), %.2f s while joining; peak RSS %.0f MB\n",
		s.CPUSeconds, s.CPUCores, s.JoinCPUSeconds, s.PeakRSSBytes/(1<<20))
	if s.CPUMicrosPerPacket > 0 {
		line := fmt.Sprintf("  %.2f µs of CPU per forwarded packet (%s)", s.CPUMicrosPerPacket, s.PacketSource)
		if f := rep.Floor; f != nil {
			line += fmt.Sprintf(" = %.2f× the floor (%.2f µs: %s)", s.RatioToFloor, f.CPUMicros, f.Description)
		}
		if m := s.MallocsPerPacket; m != nil {
			line += fmt.Sprintf("; %.2f heap allocations per forwarded packet", *m)
		}
		b.WriteString(line + "\n")
		if f := rep.PacedFloor; f != nil {
			fmt.Fprintf(b, "  = %.2f× the paced floor (%.2f µs: %s)\n", s.RatioToPacedFloor, f.CPUMicros, f.Description)
		}
	}
	if s.Note != "" {
		fmt.Fprintf(b, "  note: %s\n", s.Note)
	}
}

func (rep *Report) writeSubscribers(b *strings.Builder) {
	if len(rep.Subscribers) == 0 || len(rep.Subscribers) > maxSubscriberRows {
		if len(rep.Subscribers) > 0 {
			fmt.Fprintf(b, "(%d receivers: see --json for each one)\n", len(rep.Subscribers))
		}
		return
	}
	fmt.Fprintf(b, "%-22s %-15s %9s %7s %7s %8s %7s %7s  %s\n", "receiver", "role", "kbps", "tracks", "loss%", "repaired", "freezes", "paused%", "camera layers")
	for _, s := range rep.Subscribers {
		fmt.Fprintf(b, "%-22s %-15s %9.0f %3d+%-3d %7.3f %8d %7d %7.1f  %s\n", s.Identity, s.Role, s.ReceivedKbps,
			s.VideoTracks, s.AudioTracks, s.LossPercent, s.Late, s.Freezes, s.VideoPausedPercent, layerMix(s.Layers))
	}
}

// mostPaused names the receiver whose cameras were paused longest, when any was.
func mostPaused(subs []SubscriberReport) string {
	var top *SubscriberReport
	for i := range subs {
		if s := &subs[i]; s.VideoPausedPercent > 0 && (top == nil || s.VideoPausedPercent > top.VideoPausedPercent) {
			top = s
		}
	}
	if top == nil {
		return ""
	}
	if top.ServerEstimateKbps > 0 {
		return fmt.Sprintf("; most: %s, %.1f%% (the server's estimate towards it at the end: %.0f kbps)",
			top.Identity, top.VideoPausedPercent, top.ServerEstimateKbps)
	}
	return fmt.Sprintf("; most: %s, %.1f%%", top.Identity, top.VideoPausedPercent)
}

func msDist(d Distribution) string {
	if d.N == 0 {
		return "n/a"
	}
	return fmt.Sprintf("p50 %.0f ms, p95 %.0f ms, p99 %.0f ms, max %.0f ms (n=%d)", d.P50, d.P95, d.P99, d.Max, d.N)
}

func speakerDist(d *Distribution, s *SpeakerReport, top bool) string {
	switch {
	case d != nil && top:
		return fmt.Sprintf("%s; %d missed, %d already on top", msDist(*d), s.Missed, s.AlreadyTop)
	case d != nil:
		return msDist(*d)
	case !s.ServerSignal:
		return "n/a (the server sent no activeSpeakers)"
	}
	return "n/a"
}

func speakerEvery(secs float64) string {
	if secs <= 0 {
		return "off"
	}
	return fmt.Sprintf("rotate every %gs", secs)
}

// layerMix renders layer shares, lowest layer first: "q 75% h 25%".
func layerMix(m map[string]float64) string {
	if len(m) == 0 {
		return "-"
	}
	order := map[string]int{"q": 0, "h": 1, "f": 2}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.SortFunc(names, func(a, b string) int {
		oa, oka := order[a]
		ob, okb := order[b]
		switch {
		case oka && okb:
			return oa - ob
		case oka:
			return -1
		case okb:
			return 1
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(names))
	for i, n := range names {
		if pc := 100 * m[n]; pc > 0 && pc < 0.5 {
			parts[i] = n + " <1%"
		} else {
			parts[i] = fmt.Sprintf("%s %.0f%%", n, pc)
		}
	}
	return strings.Join(parts, " ")
}
