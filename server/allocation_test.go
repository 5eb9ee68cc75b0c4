package server

import (
	"context"
	"testing"
	"time"

	"github.com/podium-sfu/podium/api"
	"github.com/podium-sfu/podium/client"
	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/testmedia"
)

// TestAllocationExplained: the server API explains a subscriber's allocation. A subscriber that
// renders a three-layer camera at 320x180 is shown wanting q because of that size, with q
// chosen and forwarded; rendered at 1280x720 it wants f; an unknown identity is 404.
func TestAllocationExplained(t *testing.T) {
	n := startNode(t)
	pub := connect(t, n, "why", "pub")
	sub := connect(t, n, "why", "sub")
	q, h, f := testmedia.VP8Layers()
	lt, err := pub.PublishSimulcastIVF(context.Background(), q, h, f, client.Camera())
	if err != nil {
		t.Fatal(err)
	}
	subscribeVideo(t, sub)
	ac, err := api.New(n.HTTPURL(), testKey, testSecret)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, c := range []struct {
		w, h         int
		rid, because string
	}{{320, 180, "q", "rendered size 320x180"}, {1280, 720, "f", "rendered size 1280x720"}} {
		if err := sub.SetTrackSettings(protocol.TrackSettings{TrackSid: lt.Sid(), Width: c.w, Height: c.h}); err != nil {
			t.Fatal(err)
		}
		var a protocol.Allocation
		var tr protocol.TrackAllocation
		eventually(t, 5*time.Second, c.rid+" explained", func() bool {
			if a, err = ac.Allocation(ctx, "why", "sub"); err != nil {
				t.Fatal(err)
			}
			if len(a.Tracks) != 1 {
				return false
			}
			tr = a.Tracks[0]
			return tr.Wanted == c.rid && tr.Chosen == c.rid && tr.Forwarding == c.rid
		})
		if a.Identity != "sub" || a.AgeMillis < 0 || tr.TrackSid != lt.Sid() || tr.Participant != "pub" ||
			tr.WantedBecause != c.because || tr.Reason == "" || tr.Priority != "other" {
			t.Errorf("%dx%d: %+v", c.w, c.h, a)
		}
		t.Logf("%dx%d: estimate %d, budget %d, %+v", c.w, c.h, a.Estimate, a.Budget, tr)
	}
	if _, err := ac.Allocation(ctx, "why", "nobody"); !api.IsNotFound(err) {
		t.Errorf("an unknown identity: %v, want 404", err)
	}
}
