package loadtest

import (
	"bytes"
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/room"
	"github.com/podium-sfu/podium/server"
	"github.com/podium-sfu/podium/sfu"
)

// TestRunCappedDownlink runs the capped-downlink scenario end to end against a node in this
// process: a viewer of six publishers behind 800 kbps, lifted to 2.5 Mbps halfway through the
// window. It checks that the cap holds, that only the subscriber is capped, and that the lift
// lets more through; the server's speed at finding the lift is what `podium load` measures, not
// this test (the machine may be busy).
func TestRunCappedDownlink(t *testing.T) {
	if testing.Short() {
		t.Skip("runs media for several seconds")
	}
	key, secret := "loadkey", "load-secret-that-is-long-enough-0123456789"
	node, err := server.Start(server.Config{
		TCPPort: -1,
		Keys:    auth.KeyProvider{key: secret}, Media: sfu.Config{LoopbackOnly: true},
		Room: room.Config{BandwidthEstimation: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = node.Shutdown(ctx)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := Run(ctx, Config{
		URL: node.URL(), APIKey: key, APISecret: secret, Embedded: true,
		Publishers: 6, Subscribers: 1, Simulcast: true,
		Duration: 10 * time.Second, Warmup: 4 * time.Second, FloorDuration: -1,
		DownlinkCap: 800_000, CapLiftAfter: 5 * time.Second, CapLiftTo: 2_500_000,
	})
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", text.String())
	if len(rep.Capped) != 1 {
		t.Fatalf("%d capped viewers reported, want 1", len(rep.Capped))
	}
	v := rep.Capped[0]
	if v.Identity != "load-1-s1" || v.CapKbps != 800 || v.LiftedKbps != 2500 || v.RecoverKbps != 1200 {
		t.Errorf("capped viewer %+v", v)
	}
	if v.CappedSeconds < 4.5 || v.CappedSeconds > 5 {
		t.Errorf("%.1f s at the cap, want the 5 s before the lift", v.CappedSeconds)
	}
	// The link never carries more than its rate; something flows through it.
	if v.LinkKbps > 810 || v.LinkKbps < 200 || v.MediaKbps <= 0 || math.Abs(v.CapUsePercent-v.LinkKbps/8) > 0.01 {
		t.Errorf("at the 800 kbps cap the link carried %.0f kbps (%.0f %%), media %.0f kbps", v.LinkKbps, v.CapUsePercent, v.MediaKbps)
	}
	if v.AfterLiftKbps <= 880 {
		t.Errorf("after the lift to 2.5 Mbps the link carried %.0f kbps: no more than the old cap", v.AfterLiftKbps)
	}
	if v.RecoveredMillis == 0 {
		t.Error("the time to recover after the lift is not reported")
	}
	for _, s := range rep.Subscribers {
		if s.Role == RolePublisher && s.ReceivedKbps < 1000 {
			t.Errorf("%s, not capped, received %.0f kbps", s.Identity, s.ReceivedKbps)
		}
	}
	for _, want := range []string{"capped        load-1-s1: 800 kbps cap", "lifted to 2500 kbps: above 1200 kbps"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q", want)
		}
	}
}

func TestCapConfigChecks(t *testing.T) {
	ok := Config{URL: "ws://127.0.0.1:7880", APIKey: "k", APISecret: "s", Publishers: 1, Subscribers: 1,
		Duration: 20 * time.Second, DownlinkCap: 800_000, CapLiftAfter: 10 * time.Second, CapLiftTo: 2_500_000}
	c, err := ok.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.CapQueue != 150*time.Millisecond {
		t.Errorf("cap queue %v by default, want 150ms", c.CapQueue)
	}
	if l := c.newLink(RoleSubscriber); l == nil || l.Rate() != 800_000 {
		t.Errorf("a subscriber's link: %v", l)
	}
	if c.newLink(RolePublisher) != nil {
		t.Error("a publisher got a capped link")
	}
	for name, edit := range map[string]func(*Config){
		"no subscribers":      func(c *Config) { c.Subscribers = 0 },
		"negative cap":        func(c *Config) { c.DownlinkCap = -1 },
		"lift without a rate": func(c *Config) { c.CapLiftTo = 0 },
		"lift without a cap":  func(c *Config) { c.DownlinkCap = 0 },
		"lift after the end":  func(c *Config) { c.CapLiftAfter = c.Duration },
	} {
		c := ok
		edit(&c)
		if _, err := c.withDefaults(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
