// Package loadtest is the harness behind `podium load`: it fills rooms with simulated
// participants driven by the Go SDK (client), publishing the pre-encoded three-layer VP8 and
// Opus fixtures of package testmedia, scripts who speaks through the audio level, renders a grid
// or speaker view through trackSettings, and measures what the subscribers receive (join latency,
// bitrate, layers, loss, NACKs, freezes, speaker-switch latency) and what the server spends (CPU
// and memory, from its /metrics or /proc). Report prints the result as text or JSON.
package loadtest

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/podium-sfu/podium/loadtest/probe"
)

// Views: what each subscriber renders, sent to the server as trackSettings.
const (
	// ViewGrid shows every camera in an equal tile of a 1280x720 window.
	ViewGrid = "grid"
	// ViewSpeaker shows the dominant speaker (as the server names it in activeSpeakers) at
	// 1280x720 and everyone else as 320x180 thumbnails.
	ViewSpeaker = "speaker"
)

// Config is one load scenario. Counts are per room.
type Config struct {
	// URL is the server's base URL (ws://host:7880); APIKey and APISecret mint the tokens.
	// Several comma-separated URLs are the nodes of one cluster: participants join them in
	// turn (the first participant through the first node), and the report covers each node.
	URL, APIKey, APISecret string
	nodes                  []string // URL's nodes; the rest of Config measures the first

	Rooms           int // default 1
	Publishers      int // participants publishing camera (VP8) and microphone (Opus); they subscribe too
	AudioPublishers int // participants publishing the microphone only; they subscribe too
	Subscribers     int // participants that only receive

	Duration    time.Duration // length of the measured window; default 20 s
	Warmup      time.Duration // time after everyone is in before measuring; default 2 s
	JoinTimeout time.Duration // how long joining and first media may take; default 20 s
	// JoinRate is how many participants a second start joining, in order (each room's
	// publishers first); 0: everyone at once. JoinTimeout then counts from the last one's start.
	JoinRate float64

	// Simulcast publishes three VP8 layers (q 320x180, h 640x360, f 1280x720); otherwise the
	// 1280x720 layer alone.
	Simulcast bool
	// SpeakerInterval rotates scripted speaking turns among each room's audio publishers every
	// interval (the speaker's level is SpeakerLevel, the others silent); 0 keeps everyone silent.
	SpeakerInterval time.Duration
	// SpeakerLevel is the RFC 6464 level (0 loudest … 127 silence) of the one who speaks; default 30.
	SpeakerLevel uint8
	// ScreenShare makes the first publisher of each room share a screen (the 1280x720 VP8 file).
	ScreenShare bool
	// View is ViewGrid (default) or ViewSpeaker.
	View string

	// DownlinkCap shapes the downlink of each room's subscribers (the participants that only
	// receive) to this many bits/s, a drop-tail queue of CapQueue in front of their sockets
	// (package shaper); 0: no cap. CapLiftAfter into the measured window the cap becomes
	// CapLiftTo (0: it stays).
	DownlinkCap  float64
	CapQueue     time.Duration // default 150 ms
	CapLiftAfter time.Duration
	CapLiftTo    float64

	// RoomPrefix names the rooms: prefix-1, prefix-2, …; default "load".
	RoomPrefix string
	// Loopback keeps every ICE candidate on 127.0.0.1; default: when URL's host is loopback.
	Loopback *bool
	// Server measures the server process; nil: scrape URL's /metrics.
	Server probe.ServerProbe
	// Embedded notes that the server runs in this process, so its CPU and memory include the
	// load generator's.
	Embedded bool
	// ProfileURL is the server's Go profiler (`podium serve --pprof`), e.g. http://127.0.0.1:6060;
	// with ProfileFile set, a CPU profile of the measured window is written there.
	ProfileURL, ProfileFile string
	// FloorDuration is how long the floor (SRTP encrypt + UDP send) is measured after the run;
	// default 1 s, negative skips it.
	FloorDuration time.Duration
	// SinkCommand runs the paced floor's receivers in another process (`podium load-sink`,
	// RunSink); empty skips the paced floor.
	SinkCommand []string

	// Progress receives the live progress line (nil: none).
	Progress io.Writer
	Logger   *slog.Logger
}

// withDefaults fills defaults and checks the scenario.
func (c Config) withDefaults() (Config, error) {
	if c.Rooms == 0 {
		c.Rooms = 1
	}
	if c.Duration == 0 {
		c.Duration = 20 * time.Second
	}
	if c.Warmup == 0 {
		c.Warmup = 2 * time.Second
	}
	if c.JoinTimeout == 0 {
		c.JoinTimeout = 20 * time.Second
	}
	if c.SpeakerLevel == 0 {
		c.SpeakerLevel = 30
	}
	if c.View == "" {
		c.View = ViewGrid
	}
	if c.RoomPrefix == "" {
		c.RoomPrefix = "load"
	}
	if c.CapQueue == 0 {
		c.CapQueue = 150 * time.Millisecond
	}
	if c.FloorDuration == 0 {
		c.FloorDuration = time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	var errs []error
	if c.URL == "" || c.APIKey == "" || c.APISecret == "" {
		errs = append(errs, errors.New("a server URL, API key and secret are required"))
	}
	if c.Rooms < 0 || c.Publishers < 0 || c.AudioPublishers < 0 || c.Subscribers < 0 {
		errs = append(errs, errors.New("counts must not be negative"))
	}
	if c.JoinRate < 0 || math.IsNaN(c.JoinRate) || math.IsInf(c.JoinRate, 0) {
		errs = append(errs, fmt.Errorf("join rate %v: want participants a second, or 0 for all at once", c.JoinRate))
	}
	if c.Publishers+c.AudioPublishers+c.Subscribers == 0 {
		errs = append(errs, errors.New("no participants: set publishers, audio publishers or subscribers"))
	}
	if c.Publishers == 0 && c.ScreenShare {
		errs = append(errs, errors.New("a screen share needs a publisher"))
	}
	if (c.ProfileURL == "") != (c.ProfileFile == "") {
		errs = append(errs, errors.New("a server profile needs both the profiler URL and a file"))
	}
	if c.View != ViewGrid && c.View != ViewSpeaker {
		errs = append(errs, fmt.Errorf("view %q: want %s or %s", c.View, ViewGrid, ViewSpeaker))
	}
	errs = append(errs, c.capErrors())
	if c.Duration < 0 || c.SpeakerInterval < 0 || c.SpeakerLevel > 127 {
		errs = append(errs, errors.New("duration and speaker interval must not be negative, speaker level at most 127"))
	}
	c.nodes = nil
	for n := range strings.SplitSeq(c.URL, ",") {
		if n = strings.TrimSpace(n); n != "" {
			c.nodes = append(c.nodes, n)
		}
	}
	if len(c.nodes) > 0 {
		c.URL = c.nodes[0]
	}
	u, err := url.Parse(c.URL)
	if err != nil || u.Host == "" {
		errs = append(errs, fmt.Errorf("bad server URL %q", c.URL))
	} else {
		if c.Loopback == nil {
			lo := isLoopbackHost(u.Hostname())
			c.Loopback = &lo
		}
		switch p := c.Server.(type) {
		case nil:
			c.Server = probe.MetricsProbe{URL: metricsURL(u)}
		case probe.ProcProbe:
			if p.MetricsURL == "" {
				p.MetricsURL = metricsURL(u)
				c.Server = p
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("loadtest: %w", err)
	}
	return c, nil
}

func isLoopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// metricsURL is the /metrics address of the server at u (ws → http).
func metricsURL(u *url.URL) string {
	m := *u
	switch m.Scheme {
	case "ws":
		m.Scheme = "http"
	case "wss":
		m.Scheme = "https"
	}
	m.Path = strings.TrimSuffix(m.Path, "/") + "/metrics"
	m.RawQuery = ""
	return m.String()
}

// joinDelay is when the i-th participant starts joining, after the first.
func (c *Config) joinDelay(i int) time.Duration {
	if c.JoinRate <= 0 {
		return 0
	}
	return time.Duration(float64(i) / c.JoinRate * float64(time.Second))
}
