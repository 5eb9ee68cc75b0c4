package loadtest

import (
	"math"
	"time"

	"github.com/podium-sfu/podium/loadtest/floor"
	"github.com/podium-sfu/podium/loadtest/probe"
	"github.com/podium-sfu/podium/loadtest/report"
	"github.com/podium-sfu/podium/protocol"
)

// reportBuilder fills a report from what the run measured.
type reportBuilder struct {
	*report.Report
	allMedia map[string]time.Duration // by identity: dial until media on every expected track
	lastSid  map[string]string        // by identity: the track whose media came last
}

const maxErrors = 5

func newReport(cfg *Config, n int) *reportBuilder {
	return &reportBuilder{Report: &report.Report{
		Started: time.Now(), Participants: n,
		Scenario: report.Scenario{
			URL: cfg.URL, Embedded: cfg.Embedded, Rooms: cfg.Rooms, Publishers: cfg.Publishers,
			AudioPublishers: cfg.AudioPublishers, Subscribers: cfg.Subscribers,
			DurationSeconds: cfg.Duration.Seconds(), Simulcast: cfg.Simulcast,
			SpeakerSeconds: cfg.SpeakerInterval.Seconds(), ScreenShare: cfg.ScreenShare, View: cfg.View,
			JoinRate: cfg.JoinRate, DownlinkCapKbps: cfg.DownlinkCap / 1000,
			CapLiftSeconds: cfg.CapLiftAfter.Seconds(), CapLiftKbps: cfg.CapLiftTo / 1000,
		},
		Server: report.ServerReport{Source: cfg.Server.Describe()},
	}}
}

func (rep *reportBuilder) firstError() string {
	if len(rep.Errors) == 0 {
		return "no error recorded"
	}
	return rep.Errors[0]
}

// addJoin records the join phase.
func (rep *reportBuilder) addJoin(all []*participant, now time.Time) {
	var join, first, allMedia, playing, publish []time.Duration
	var firstDial, lastDial time.Time
	for _, p := range all {
		if !p.joinStart.IsZero() {
			if firstDial.IsZero() || p.joinStart.Before(firstDial) {
				firstDial = p.joinStart
			}
			if p.joinStart.After(lastDial) {
				lastDial = p.joinStart
			}
		}
		if p.err != nil {
			rep.Failed++
			if len(rep.Errors) < maxErrors {
				rep.Errors = append(rep.Errors, p.err.Error())
			}
		}
		if p.c == nil {
			continue
		}
		rep.Joined++
		join = append(join, p.joinLatency)
		if p.publishLatency > 0 {
			publish = append(publish, p.publishLatency)
		}
		tracks := p.snapshot(now, false)
		var earliest, latest time.Time
		var lastSid string
		for sid, t := range tracks {
			if t.first.IsZero() {
				continue
			}
			if earliest.IsZero() || t.first.Before(earliest) {
				earliest = t.first
			}
			if t.first.After(latest) {
				latest, lastSid = t.first, sid
			}
		}
		if !earliest.IsZero() {
			first = append(first, earliest.Sub(p.joinStart))
		}
		if mediaTracks(tracks) >= p.expectedTracks() {
			if !latest.IsZero() {
				allMedia = append(allMedia, latest.Sub(p.joinStart))
				playing = append(playing, latest.Sub(earliest))
				if rep.allMedia == nil {
					rep.allMedia, rep.lastSid = map[string]time.Duration{}, map[string]string{}
				}
				rep.allMedia[p.identity], rep.lastSid[p.identity] = latest.Sub(p.joinStart), lastSid
			}
		} else {
			rep.MissingMedia++
		}
	}
	rep.JoinMillis = report.NewDistribution(report.Millis(join))
	rep.FirstMediaMillis = report.NewDistribution(report.Millis(first))
	rep.AllMediaMillis = report.NewDistribution(report.Millis(allMedia))
	rep.PlayingMillis = report.NewDistribution(report.Millis(playing))
	rep.PublishMillis = report.NewDistribution(report.Millis(publish))
	rep.JoinSpreadSeconds = lastDial.Sub(firstDial).Seconds()
}

// addWindow computes what was received between two snapshots.
func (rep *reportBuilder) addWindow(all []*participant, start, end windowSnap) {
	secs := end.at.Sub(start.at).Seconds()
	rep.WindowSeconds = secs
	if secs <= 0 {
		return
	}
	if start.udpOK && end.udpOK {
		k := end.udp.Minus(start.udp)
		rep.KernelUDP = &k
	}
	if start.countErr == nil && end.countErr == nil {
		c := end.counters.Minus(start.counters)
		rep.ServerCounters = &c
	}
	if start.selfOK && end.selfOK {
		rep.LoadCPUCores = (end.self.CPUSeconds - start.self.CPUSeconds) / secs
	}
	rep.SentMbps = float64(end.wireSent-start.wireSent) * 8 / secs / 1e6
	rep.ReceivedMbps = float64(end.wireRecv-start.wireRecv) * 8 / secs / 1e6
	layerFrames := map[string]uint64{}
	var camFrames uint64
	var kbps []float64
	var allCameras int
	var allPaused time.Duration
	for i, p := range all {
		if p.c == nil {
			continue
		}
		s := report.SubscriberReport{Identity: p.identity, Role: p.role, Layers: map[string]float64{},
			AllMediaMillis: float64(rep.allMedia[p.identity].Microseconds()) / 1000, LastTrack: rep.lastSid[p.identity],
			ServerEstimateKbps: float64(end.estimates[p.identity]) / 1000}
		var bytes, lost, expect, frames uint64
		var cameras int
		var paused time.Duration
		mine := map[string]uint64{}
		for sid, e := range end.tracks[i] {
			d := e.trackCounters.minus(start.tracks[i][sid].trackCounters)
			rep.ForwardedPackets += d.Packets
			bytes += d.Bytes
			lost += d.lost()
			expect += d.Expect
			rep.Loss.Late += d.Late
			s.Late += d.Late
			rep.Loss.Duplicates += d.Duplicates
			s.Freezes += d.Freezes
			rep.FreezeSeconds += d.FreezeTime.Seconds()
			if e.kind != protocol.KindVideo {
				s.AudioTracks++
				continue
			}
			s.VideoTracks++
			if e.source == protocol.SourceScreen {
				continue
			}
			cameras++
			paused += d.PausedTime
			for l, n := range d.FramesByLayer {
				mine[l] += n
				layerFrames[l] += n
				frames += n
				camFrames += n
			}
		}
		rep.Loss.Lost += lost
		rep.Loss.Expected += expect
		rep.Freezes += s.Freezes
		s.ReceivedKbps = float64(bytes) * 8 / secs / 1000
		s.LossPercent = report.Percent(lost, expect)
		s.Layers = report.Shares(mine, frames)
		if cameras > 0 && secs > 0 {
			s.VideoPausedPercent = 100 * paused.Seconds() / (float64(cameras) * secs)
			allCameras += cameras
			allPaused += paused
		}
		if s.VideoTracks+s.AudioTracks > 0 {
			kbps = append(kbps, s.ReceivedKbps)
		}
		rep.Subscribers = append(rep.Subscribers, s)
	}
	rep.ForwardedPacketsPerSec = float64(rep.ForwardedPackets) / secs
	rep.Loss.Percent = report.Percent(rep.Loss.Lost, rep.Loss.Expected)
	rep.ReceivedKbps = report.NewDistribution(kbps)
	rep.Layers = report.Shares(layerFrames, camFrames)
	if allCameras > 0 && secs > 0 {
		rep.VideoPausedPercent = 100 * allPaused.Seconds() / (float64(allCameras) * secs)
	}
}

// addKeyframes counts the keyframe requests the publishers obeyed.
func (rep *reportBuilder) addKeyframes(all []*participant) {
	for _, p := range all {
		if p.c != nil {
			rep.KeyframeRestarts += p.keyframeRestarts()
		}
	}
}

func (rep *reportBuilder) addServer(start, end windowSnap, peakRSS float64, ok bool, err error) {
	if rep.Scenario.Embedded {
		rep.Server.Note = "embedded: the server shares this process with the load generator; CPU and memory are the whole process's"
	}
	if err != nil {
		rep.Server.Error = err.Error()
	}
	rep.Server.PeakRSSBytes = peakRSS
	if start.cpuOK && end.cpuOK {
		m := &probe.Machine{LoadAvgStart: start.loadAvg, LoadAvgEnd: end.loadAvg}
		m.CPUs, m.BusyCores = probe.MachineOver(start.cpu, end.cpu, rep.WindowSeconds)
		m.OtherCores = m.BusyCores - rep.LoadCPUCores
		rep.Machine = m
	}
	if !ok || !start.serverOK || !end.serverOK {
		return
	}
	rep.Server.CPUSeconds = end.server.CPUSeconds - start.server.CPUSeconds
	if rep.WindowSeconds > 0 {
		rep.Server.CPUCores = rep.Server.CPUSeconds / rep.WindowSeconds
	}
	if rep.Machine != nil && !rep.Scenario.Embedded {
		rep.Machine.OtherCores -= rep.Server.CPUCores
	}
	forwarded, source := rep.ForwardedPackets, "received by subscribers"
	if c := rep.ServerCounters; c != nil && c.PacketsOut > 0 {
		forwarded, source = c.PacketsOut+c.Retransmits, "server's count"
	}
	if forwarded > 0 {
		rep.Server.PacketSource = source
		rep.Server.CPUMicrosPerPacket = rep.Server.CPUSeconds * 1e6 / float64(forwarded)
		if start.server.HasMallocs && end.server.HasMallocs {
			m := (end.server.Mallocs - start.server.Mallocs) / float64(forwarded)
			rep.Server.MallocsPerPacket = &m
		}
	}
}

// floorShape is the paced floor's shape for this run: the receiving participants, the
// server's packets out per packet in (else one burst to every receiver), and the forwarded
// packet rate.
func (rep *reportBuilder) floorShape() (destinations, fanOut int, rate float64) {
	for _, s := range rep.Subscribers {
		if s.VideoTracks+s.AudioTracks > 0 {
			destinations++
		}
	}
	fanOut = destinations
	if c := rep.ServerCounters; c != nil && c.PacketsIn > 0 {
		fanOut = int(math.Round(float64(c.PacketsOut) / float64(c.PacketsIn)))
	}
	return destinations, max(fanOut, 1), rep.ForwardedPacketsPerSec
}

func (rep *reportBuilder) addPacedFloor(f floor.PacedResult) {
	rep.PacedFloor = &f
	if f.CPUMicros > 0 && rep.Server.CPUMicrosPerPacket > 0 {
		rep.Server.RatioToPacedFloor = rep.Server.CPUMicrosPerPacket / f.CPUMicros
	}
}

func (rep *reportBuilder) addFloor(f floor.Result) {
	rep.Floor = &f
	if f.CPUMicros > 0 && rep.Server.CPUMicrosPerPacket > 0 {
		rep.Server.RatioToFloor = rep.Server.CPUMicrosPerPacket / f.CPUMicros
	}
}

func (c trackCounters) minus(o trackCounters) trackCounters {
	d := trackCounters{
		Packets: c.Packets - o.Packets, Bytes: c.Bytes - o.Bytes, Unique: c.Unique - o.Unique,
		Expect: c.Expect - o.Expect, Duplicates: c.Duplicates - o.Duplicates, Late: c.Late - o.Late,
		Frames: c.Frames - o.Frames, Keyframes: c.Keyframes - o.Keyframes, Freezes: c.Freezes - o.Freezes,
		FreezeTime: c.FreezeTime - o.FreezeTime, PausedTime: c.PausedTime - o.PausedTime, FramesByLayer: map[string]uint64{},
		Pauses: c.Pauses - o.Pauses, Resumes: c.Resumes - o.Resumes, PaddingBytes: c.PaddingBytes - o.PaddingBytes,
	}
	for l, n := range c.FramesByLayer {
		d.FramesByLayer[l] = n - o.FramesByLayer[l]
	}
	return d
}
