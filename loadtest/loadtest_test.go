package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/loadtest/report"
	"github.com/podium-sfu/podium/room"
	"github.com/podium-sfu/podium/server"
	"github.com/podium-sfu/podium/sfu"
)

// TestRunEmbedded runs the harness for a few seconds against a node in this process: two
// publishers and two subscribers. It checks that every measurement is produced, not the
// server's speed (the test machine may be busy).
func TestRunEmbedded(t *testing.T) {
	if testing.Short() {
		t.Skip("runs media for several seconds")
	}
	key, secret := "loadkey", "load-secret-that-is-long-enough-0123456789"
	node, err := server.Start(server.Config{
		TCPPort: -1,
		Keys:    auth.KeyProvider{key: secret}, Media: sfu.Config{LoopbackOnly: true},
		Room: room.Config{BandwidthEstimation: true}, // as podium load --embedded runs it
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = node.Shutdown(ctx)
	})
	var progress bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := Run(ctx, Config{
		URL: node.URL(), APIKey: key, APISecret: secret, Embedded: true,
		Publishers: 2, Subscribers: 2, Simulcast: true, View: ViewSpeaker,
		Duration: 3 * time.Second, Warmup: time.Second, SpeakerInterval: time.Second,
		FloorDuration: 100 * time.Millisecond, Progress: &progress,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Joined != 4 || rep.Failed != 0 {
		t.Fatalf("joined %d, failed %d: %v", rep.Joined, rep.Failed, rep.Errors)
	}
	if rep.JoinMillis.N != 4 || rep.JoinMillis.P99 <= 0 {
		t.Errorf("join latency not measured: %+v", rep.JoinMillis)
	}
	if rep.JoinSpreadSeconds > 0.25 {
		t.Errorf("without a join rate everyone dials at once, but the last dialed %.2f s after the first", rep.JoinSpreadSeconds)
	}
	if rep.MissingMedia != 0 {
		t.Errorf("%d participants without all their media", rep.MissingMedia)
	}
	// From each one's first packet to media on all its tracks: never negative, never longer
	// than from its dial.
	if p, a := rep.PlayingMillis, rep.AllMediaMillis; p.N != 4 || p.Min < 0 || p.Max > a.Max {
		t.Errorf("first packet → all playing %+v against dial → all media %+v", p, a)
	}
	if len(rep.Subscribers) != 4 {
		t.Fatalf("%d receivers reported, want 4", len(rep.Subscribers))
	}
	for _, s := range rep.Subscribers {
		wantVideo := 2
		if s.Role == RolePublisher {
			wantVideo = 1
		}
		if s.ReceivedKbps <= 0 || s.VideoTracks != wantVideo || len(s.Layers) == 0 || s.AllMediaMillis <= 0 {
			t.Errorf("%s: %.0f kbps, %d videos, layers %v, all media after %.0f ms", s.Identity, s.ReceivedKbps, s.VideoTracks, s.Layers, s.AllMediaMillis)
		}
		if !strings.HasPrefix(s.LastTrack, "TR_") {
			t.Errorf("%s: the last track to start is %q, want a track sid", s.Identity, s.LastTrack)
		}
		if s.ServerEstimateKbps <= 0 {
			t.Errorf("%s: no server estimate from the admin API", s.Identity)
		}
	}
	if rep.ForwardedPackets == 0 || len(rep.Layers) == 0 {
		t.Errorf("forwarded %d packets, layers %v", rep.ForwardedPackets, rep.Layers)
	}
	if rep.Speakers == nil || rep.Speakers.Turns == 0 {
		t.Errorf("no speaking turns: %+v", rep.Speakers)
	}
	if rep.Server.Error != "" || rep.Server.CPUSeconds <= 0 || rep.Server.PeakRSSBytes <= 0 || rep.Server.CPUMicrosPerPacket <= 0 {
		t.Errorf("server figures missing: %+v", rep.Server)
	}
	if c := rep.ServerCounters; c == nil || c.PacketsOut == 0 || c.PacketsIn == 0 || rep.Server.PacketSource != "server's count" {
		t.Errorf("server counters missing: %+v (%s)", c, rep.Server.PacketSource)
	}
	if rep.Floor == nil || rep.Floor.CPUMicros <= 0 || rep.Server.RatioToFloor <= 0 {
		t.Errorf("floor missing: %+v, ratio %v", rep.Floor, rep.Server.RatioToFloor)
	}
	if !strings.Contains(progress.String(), "joined") {
		t.Errorf("no progress line: %q", progress.String())
	}

	path := filepath.Join(t.TempDir(), "report.json")
	if err := rep.WriteJSON(path); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var back report.Report
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatalf("JSON does not read back: %v", err)
	}
	if back.JoinMillis != rep.JoinMillis || len(back.Subscribers) != 4 || back.Server.CPUMicrosPerPacket != rep.Server.CPUMicrosPerPacket {
		t.Errorf("JSON lost data: %+v", back)
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"join ", "loss ", "freezes ", "paused ", "speakers ", "per forwarded packet"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
	t.Logf("\n%s", text.String())
}

func TestConfigChecks(t *testing.T) {
	ok := Config{URL: "ws://127.0.0.1:7880", APIKey: "k", APISecret: "s", Publishers: 1}
	c, err := ok.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if !*c.Loopback || c.Server.Describe() != "http://127.0.0.1:7880/metrics" || c.View != ViewGrid {
		t.Errorf("defaults: loopback %v, server %s, view %s", *c.Loopback, c.Server.Describe(), c.View)
	}
	for name, edit := range map[string]func(*Config){
		"no URL":             func(c *Config) { c.URL = "" },
		"nobody":             func(c *Config) { c.Publishers = 0 },
		"bad view":           func(c *Config) { c.View = "mosaic" },
		"screen, no camera":  func(c *Config) { c.Publishers, c.Subscribers, c.ScreenShare = 0, 1, true },
		"negative count":     func(c *Config) { c.Subscribers = -1 },
		"level out of range": func(c *Config) { c.SpeakerLevel = 200 },
		"negative join rate": func(c *Config) { c.JoinRate = -1 },
	} {
		c := ok
		edit(&c)
		if _, err := c.withDefaults(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
