package server

import (
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podium-sfu/podium/client"
	"github.com/podium-sfu/podium/testmedia"
)

// metricValue reads an unlabelled sample's value from a /metrics text; -1 when absent.
func metricValue(text, name string) float64 {
	for line := range strings.SplitSeq(text, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err == nil {
				return f
			}
		}
	}
	return -1
}

// TestMetricsCoverTheDashboard: every metric docs/grafana-dashboard.json queries is in
// /metrics, and the media totals count real traffic and keep it after the traffic ends.
func TestMetricsCoverTheDashboard(t *testing.T) {
	n := startNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	alice := connect(t, n, "r1", "alice")
	cam, err := alice.PublishIVF(ctx, testmedia.VP8(320), client.Camera())
	if err != nil {
		t.Fatal(err)
	}
	bob := connect(t, n, "r1", "bob")
	got := collect(bob)
	eventually(t, 15*time.Second, "bob receiving alice's camera", func() bool {
		s, ok := got.track(cam.Sid())
		return ok && s.keyframes > 0 && s.packets > 50
	})

	raw, err := os.ReadFile("../docs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("docs/grafana-dashboard.json: %v", err)
	}
	text := scrapeMetrics(t, n)
	name := regexp.MustCompile(`\b(podium|process)_[a-z0-9_]+`)
	queried := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, m := range name.FindAllString(tg.Expr, -1) {
				queried++
				if !strings.Contains(text, "\n"+m+" ") && !strings.Contains(text, "\n"+m+"{") {
					t.Errorf("panel %q queries %s, which /metrics does not have", p.Title, m)
				}
			}
		}
	}
	if queried < 20 {
		t.Fatalf("the dashboard queries %d metrics; did its format change?", queried)
	}

	for _, m := range []string{"podium_packets_in_total", "podium_packets_out_total", "podium_bytes_out_total", "podium_subscriptions"} {
		if v := metricValue(text, m); v <= 0 {
			t.Errorf("%s = %v with a camera flowing to a subscriber", m, v)
		}
	}
	if !strings.Contains(text, `podium_tracks{kind="video"} 1`) {
		t.Errorf("podium_tracks does not count alice's camera")
	}
	before := metricValue(text, "podium_packets_out_total")
	raw0 := n.Rooms().Totals(time.Second)
	bobOnServer := n.Rooms().Room("r1").Participant("bob")
	_ = bob.Close()
	select {
	case <-bobOnServer.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("bob's participant did not close")
	}
	after := scrapeMetrics(t, n)
	if v := metricValue(after, "podium_packets_out_total"); v < before {
		t.Fatalf("podium_packets_out_total went back from %v to %v when bob left", before, v)
	}
	// The totals themselves keep what bob's subscription carried (not only the exported high mark).
	if raw1 := n.Rooms().Totals(time.Second); raw1.PacketsOut < raw0.PacketsOut || raw1.BytesOut < raw0.BytesOut {
		t.Fatalf("totals out went back when bob left: %d → %d packets", raw0.PacketsOut, raw1.PacketsOut)
	}
	if v := metricValue(after, "podium_subscriptions"); v != 0 {
		t.Fatalf("podium_subscriptions = %v after the only subscriber left", v)
	}
}
