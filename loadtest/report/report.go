package loadtest

import (
	"encoding/json"
	"math"
	"os"
	"time"

	"github.com/podium-sfu/podium/protocol"
)

// Report is everything one run measured. WriteJSON saves it; Text renders it for people.
type Report struct {
	Scenario Scenario  `json:"scenario"`
	Started  time.Time `json:"started"`

	Participants int      `json:"participants"`
	Joined       int      `json:"joined"`
	Failed       int      `json:"failed"`
	Errors       []string `json:"errors,omitempty"` // the first few
	MissingMedia int      `json:"missingMedia"`     // joined but without media on every expected track

	// JoinMillis: dial until `joined`. FirstMediaMillis: dial until the first packet of any
	// track. AllMediaMillis: dial until media on every expected track. PublishMillis: publish
	// until negotiated, all tracks.
	JoinMillis       Distribution `json:"joinMillis"`
	FirstMediaMillis Distribution `json:"firstMediaMillis"`
	AllMediaMillis   Distribution `json:"allMediaMillis"`
	PublishMillis    Distribution `json:"publishMillis"`
	// JoinSpreadSeconds is from the first participant's dial to the last's: about
	// (participants-1)/JoinRate with a join rate, near 0 without.
	JoinSpreadSeconds float64 `json:"joinSpreadSeconds"`

	WindowSeconds float64 `json:"windowSeconds"`
	// Wire bytes of the load generator's peer connections, both ways, in the window.
	SentMbps     float64 `json:"sentMbps"`
	ReceivedMbps float64 `json:"receivedMbps"`
	// ForwardedPackets are the RTP packets all subscribers received in the window: what the
	// server forwarded (retransmissions included).
	ForwardedPackets       uint64  `json:"forwardedPackets"`
	ForwardedPacketsPerSec float64 `json:"forwardedPacketsPerSecond"`
	// LoadCPUCores is the CPU the load generator itself used (with an embedded server, both).
	LoadCPUCores float64 `json:"loadGeneratorCPUCores"`

	Loss Loss `json:"loss"`
	// KernelUDP are the namespace's kernel UDP counters over the window (Linux), nil elsewhere.
	KernelUDP *KernelUDP `json:"kernelUDP,omitempty"`
	// ServerCounters are the server's own counts over the window (GET /api/admin/stats), nil
	// when unavailable.
	ServerCounters *ServerCounters `json:"serverCounters,omitempty"`
	// Machine is how busy the machine was (Linux), nil elsewhere.
	Machine          *Machine `json:"machine,omitempty"`
	NACKs            uint64   `json:"nacks"`            // NACK packets subscribers sent (whole run)
	PLIs             uint64   `json:"plis"`             // PLI packets subscribers sent (whole run)
	KeyframeRestarts int      `json:"keyframeRestarts"` // keyframe requests publishers obeyed (whole run)
	Freezes          uint64   `json:"freezes"`
	FreezeSeconds    float64  `json:"freezeSeconds"`
	// VideoPausedPercent is the share of all cameras' time in the window during which the
	// server said it forwarded nothing of them: videos the bandwidth could not carry.
	VideoPausedPercent float64 `json:"videoPausedPercent"`
	// FreezeEpisodes merges the freezes of one sender's video that overlap at several receivers:
	// many freezes in few episodes point at the sender (or the server), not the receivers.
	FreezeEpisodes int `json:"freezeEpisodes"`
	// Layers is the share of received camera frames at each simulcast layer, over everyone.
	Layers map[string]float64 `json:"layers"`
	// ReceivedKbps is the distribution of what each subscriber received (RTP bytes).
	ReceivedKbps Distribution       `json:"receivedKbps"`
	Subscribers  []SubscriberReport `json:"subscribers"`
	Speakers     *SpeakerReport     `json:"speakers,omitempty"`
	Server       ServerReport       `json:"server"`
	Floor        *FloorResult       `json:"floor,omitempty"`
	PacedFloor   *PacedFloorResult  `json:"pacedFloor,omitempty"`
	Notes        []string           `json:"notes,omitempty"`

	allMedia map[string]time.Duration // by identity: dial until media on every expected track
	lastSid  map[string]string        // by identity: the track whose media came last
}

// Scenario echoes the configuration.
type Scenario struct {
	URL             string  `json:"url"`
	Embedded        bool    `json:"embedded"`
	Rooms           int     `json:"rooms"`
	Publishers      int     `json:"publishers"`
	AudioPublishers int     `json:"audioPublishers"`
	Subscribers     int     `json:"subscribers"`
	DurationSeconds float64 `json:"durationSeconds"`
	Simulcast       bool    `json:"simulcast"`
	SpeakerSeconds  float64 `json:"speakerSeconds"`
	ScreenShare     bool    `json:"screenShare"`
	View            string  `json:"view"`
	JoinRate        float64 `json:"joinRate"` // participants a second; 0: all at once
}

// Loss counts RTP packets by sequence number, per received track, over the window.
type Loss struct {
	Expected uint64 `json:"expected"`
	Lost     uint64 `json:"lost"` // never arrived, even after NACKs
	// Late packets filled a gap: on loopback nearly all are NACK retransmissions (pion's NACK
	// generator writes below its stats interceptor, so the NACK packets themselves go uncounted).
	Late       uint64  `json:"late"`
	Duplicates uint64  `json:"duplicates"`
	Percent    float64 `json:"percent"`
}

// SubscriberReport is what one participant received in the window.
type SubscriberReport struct {
	Identity     string             `json:"identity"`
	Role         string             `json:"role"`
	ReceivedKbps float64            `json:"receivedKbps"`
	VideoTracks  int                `json:"videoTracks"`
	AudioTracks  int                `json:"audioTracks"`
	Layers       map[string]float64 `json:"layers"` // share of camera frames by layer
	LossPercent  float64            `json:"lossPercent"`
	Late         uint64             `json:"late"` // gaps filled, mostly by NACK retransmissions
	Freezes      uint64             `json:"freezes"`
	// VideoPausedPercent is the share of its cameras' time in the window during which the
	// server said it forwarded nothing of them (streamState: bandwidth).
	VideoPausedPercent float64 `json:"videoPausedPercent"`
	// AllMediaMillis is from dial until media arrived on every track it expects; 0: never.
	AllMediaMillis float64 `json:"allMediaMillis"`
	// LastTrack is the sid of the track whose media came last (the server's logs name it).
	LastTrack string `json:"lastTrack,omitempty"`
	// ServerEstimateKbps is the server's bandwidth estimate towards it at the window's end,
	// from the admin API; 0: not known.
	ServerEstimateKbps float64 `json:"serverEstimateKbps,omitempty"`
}

// ServerReport is what the server process spent.
type ServerReport struct {
	Source         string  `json:"source"`
	Note           string  `json:"note,omitempty"`
	Error          string  `json:"error,omitempty"`
	JoinCPUSeconds float64 `json:"joinCPUSeconds"` // from start until everyone had media
	CPUSeconds     float64 `json:"cpuSeconds"`     // in the window
	CPUCores       float64 `json:"cpuCores"`       // CPU seconds per second of the window
	PeakRSSBytes   float64 `json:"peakRSSBytes"`   // highest sample (one a second) during the run
	// CPUMicrosPerPacket is the window's server CPU divided by the packets it forwarded: the
	// server's own count (first sends and retransmissions) when its admin stats answered,
	// else the packets the subscribers received. PacketSource says which.
	CPUMicrosPerPacket float64 `json:"cpuMicrosPerForwardedPacket"`
	PacketSource       string  `json:"packetSource"`
	// RatioToFloor compares it with the floor measured in the same run; RatioToPacedFloor with
	// the paced floor (the floor at this run's packet rate and fan-out, to sleeping receivers).
	RatioToFloor      float64 `json:"ratioToFloor,omitempty"`
	RatioToPacedFloor float64 `json:"ratioToPacedFloor,omitempty"`
	// MallocsPerPacket is the server's Go heap allocations in the window per forwarded packet
	// (from its /metrics): everything allocates there, not only the forward path.
	MallocsPerPacket *float64 `json:"mallocsPerForwardedPacket,omitempty"`
}

const maxErrors = 5

func newReport(cfg *Config, n int) *Report {
	return &Report{
		Started: time.Now(), Participants: n,
		Scenario: Scenario{
			URL: cfg.URL, Embedded: cfg.Embedded, Rooms: cfg.Rooms, Publishers: cfg.Publishers,
			AudioPublishers: cfg.AudioPublishers, Subscribers: cfg.Subscribers,
			DurationSeconds: cfg.Duration.Seconds(), Simulcast: cfg.Simulcast,
			SpeakerSeconds: cfg.SpeakerInterval.Seconds(), ScreenShare: cfg.ScreenShare, View: cfg.View,
			JoinRate: cfg.JoinRate,
		},
		Server: ServerReport{Source: cfg.Server.Describe()},
	}
}

func (rep *Report) firstError() string {
	if len(rep.Errors) == 0 {
		return "no error recorded"
	}
	return rep.Errors[0]
}

// addJoin records the join phase.
func (rep *Report) addJoin(all []*participant, now time.Time) {
	var join, first, allMedia, publish []time.Duration
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
				if rep.allMedia == nil {
					rep.allMedia, rep.lastSid = map[string]time.Duration{}, map[string]string{}
				}
				rep.allMedia[p.identity], rep.lastSid[p.identity] = latest.Sub(p.joinStart), lastSid
			}
		} else {
			rep.MissingMedia++
		}
	}
	rep.JoinMillis = distribution(millis(join))
	rep.FirstMediaMillis = distribution(millis(first))
	rep.AllMediaMillis = distribution(millis(allMedia))
	rep.PublishMillis = distribution(millis(publish))
	rep.JoinSpreadSeconds = lastDial.Sub(firstDial).Seconds()
}

// addWindow computes what was received between two snapshots.
func (rep *Report) addWindow(all []*participant, start, end windowSnap) {
	secs := end.at.Sub(start.at).Seconds()
	rep.WindowSeconds = secs
	if secs <= 0 {
		return
	}
	if start.udpOK && end.udpOK {
		k := end.udp.minus(start.udp)
		rep.KernelUDP = &k
	}
	if start.countErr == nil && end.countErr == nil {
		c := end.counters.minus(start.counters)
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
		s := SubscriberReport{Identity: p.identity, Role: p.role, Layers: map[string]float64{},
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
		s.LossPercent = percent(lost, expect)
		s.Layers = shares(mine, frames)
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
	rep.Loss.Percent = percent(rep.Loss.Lost, rep.Loss.Expected)
	rep.ReceivedKbps = distribution(kbps)
	rep.Layers = shares(layerFrames, camFrames)
	if allCameras > 0 && secs > 0 {
		rep.VideoPausedPercent = 100 * allPaused.Seconds() / (float64(allCameras) * secs)
	}
}

// shares are each layer's part of total frames. Layers without frames in the window are left
// out: 0 of 0 is NaN, which JSON cannot carry (a 200-subscriber run once failed to write its
// report for it).
func shares(counts map[string]uint64, total uint64) map[string]float64 {
	out := map[string]float64{}
	if total == 0 {
		return out
	}
	for l, n := range counts {
		if n > 0 {
			out[l] = float64(n) / float64(total)
		}
	}
	return out
}

// addKeyframes counts the keyframe requests the publishers obeyed.
func (rep *Report) addKeyframes(all []*participant) {
	for _, p := range all {
		if p.c != nil {
			rep.KeyframeRestarts += p.keyframeRestarts()
		}
	}
}

func (rep *Report) addServer(start, end windowSnap, peakRSS float64, ok bool, err error) {
	if rep.Scenario.Embedded {
		rep.Server.Note = "embedded: the server shares this process with the load generator; CPU and memory are the whole process's"
	}
	if err != nil {
		rep.Server.Error = err.Error()
	}
	rep.Server.PeakRSSBytes = peakRSS
	if start.cpuOK && end.cpuOK {
		m := &Machine{LoadAvgStart: start.loadAvg, LoadAvgEnd: end.loadAvg}
		m.CPUs, m.BusyCores = machineOver(start.cpu, end.cpu, rep.WindowSeconds)
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
func (rep *Report) floorShape() (destinations, fanOut int, rate float64) {
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

func (rep *Report) addPacedFloor(f PacedFloorResult) {
	rep.PacedFloor = &f
	if f.CPUMicros > 0 && rep.Server.CPUMicrosPerPacket > 0 {
		rep.Server.RatioToPacedFloor = rep.Server.CPUMicrosPerPacket / f.CPUMicros
	}
}

func (rep *Report) addFloor(f FloorResult) {
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
	}
	for l, n := range c.FramesByLayer {
		d.FramesByLayer[l] = n - o.FramesByLayer[l]
	}
	return d
}

func percent(part, whole uint64) float64 {
	if whole == 0 {
		return 0
	}
	return 100 * float64(part) / float64(whole)
}

// WriteJSON writes the report, indented, to a file.
func (rep *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
