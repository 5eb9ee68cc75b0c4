// Package report is what one run of `podium load` measured, and how it is written: JSON for
// tools, text for people.
package report

import (
	"encoding/json"
	"os"
	"time"

	"github.com/podium-sfu/podium/loadtest/floor"
	"github.com/podium-sfu/podium/loadtest/probe"
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
	// PlayingMillis: for each participant with media on every expected track, from its first
	// packet until then (issue 22's "every video playing within 2 s of its first packet").
	PlayingMillis Distribution `json:"playingMillis"`
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
	KernelUDP *probe.KernelUDP `json:"kernelUDP,omitempty"`
	// ServerCounters are the server's own counts over the window (GET /api/admin/stats), nil
	// when unavailable.
	ServerCounters *probe.ServerCounters `json:"serverCounters,omitempty"`
	// Machine is how busy the machine was (Linux), nil elsewhere.
	Machine          *probe.Machine `json:"machine,omitempty"`
	KeyframeRestarts int            `json:"keyframeRestarts"` // keyframe requests publishers obeyed (whole run)
	Freezes          uint64         `json:"freezes"`
	FreezeSeconds    float64        `json:"freezeSeconds"`
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
	Capped       []CappedViewer     `json:"capped,omitempty"` // subscribers behind a capped downlink
	Server       ServerReport       `json:"server"`
	Nodes        []NodeReport       `json:"nodes,omitempty"` // a cluster run's nodes, in --url order
	Floor        *floor.Result      `json:"floor,omitempty"`
	PacedFloor   *floor.PacedResult `json:"pacedFloor,omitempty"`
	Notes        []string           `json:"notes,omitempty"`
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
	// DownlinkCapKbps shapes each subscriber's downlink; CapLiftKbps lifts it CapLiftSeconds
	// into the window (0: never).
	DownlinkCapKbps float64 `json:"downlinkCapKbps,omitempty"`
	CapLiftSeconds  float64 `json:"capLiftSeconds,omitempty"`
	CapLiftKbps     float64 `json:"capLiftKbps,omitempty"`
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

// SpeakerReport is what the speaking turns showed, over all rooms.
type SpeakerReport struct {
	Turns int `json:"turns"`
	// TopLayer is the time from a scripted level change to the first top-layer keyframe (or
	// streamState naming the top layer) of the new speaker's video at each subscriber that did
	// not already receive it: the speaker-switch latency a viewer sees.
	TopLayerMillis *Distribution `json:"topLayerMillis"`
	// Dominant is the time until the server's activeSpeakers named the new speaker as dominant.
	DominantMillis *Distribution `json:"dominantMillis"`
	// TopLayerByTurn is each turn's slowest top-layer time over its subscribers (ms, in the
	// order of the turns; 0: no subscriber needed a switch): every subscriber of a room waits
	// for the same keyframe, so one slow turn is a p95 of its own.
	TopLayerByTurn []float64 `json:"topLayerByTurn,omitempty"`
	Missed         int       `json:"missed"`     // turns over before the top layer came
	AlreadyTop     int       `json:"alreadyTop"` // no switch needed: it was already the top layer
	// FalseSwitches counts, over subscribers, activeSpeakers naming as dominant someone the
	// script had silent at the time (detector flapping on cross-talk or bursts).
	FalseSwitches int  `json:"falseSwitches"`
	ServerSignal  bool `json:"serverSignal"` // the server sent activeSpeakers
}

// FreezeThreshold is the longest gap between two complete video frames that is not a freeze.
const FreezeThreshold = 500 * time.Millisecond

// Shares are each layer's part of total frames. Layers without frames in the window are left
// out: 0 of 0 is NaN, which JSON cannot carry (a 200-subscriber run once failed to write its
// report for it).
func Shares(counts map[string]uint64, total uint64) map[string]float64 {
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

// Percent is part of whole in percent; 0 of 0 is 0.
func Percent(part, whole uint64) float64 {
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
