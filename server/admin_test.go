package server

import (
	"net/http"
	"testing"
	"time"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/serverapi"
)

// TestAdminStats: /api/admin/stats needs roomList or roomAdmin, shows a room admin only its room
// and the server only to a node-wide token, and reports every participant's tracks and
// subscriptions with bitrates that move while media flows.
func TestAdminStats(t *testing.T) {
	n := startNode(t)
	url := n.HTTPURL() + "/api/admin/stats"
	alice, bob := connect(t, n, "stats-a", "alice"), connect(t, n, "stats-a", "bob")
	collect(alice)
	collect(bob)
	publishCameraAndMic(t, alice)
	connect(t, n, "stats-b", "carol")

	admin := func(room string, list bool) string {
		return token(t, room, "ops", func(o *auth.MintOptions) {
			o.Grant = auth.Grant{Room: room, RoomAdmin: true, RoomList: list}
		})
	}
	if code := apiCall(t, "GET", url, "", nil); code != http.StatusUnauthorized {
		t.Errorf("no token: HTTP %d, want 401", code)
	}
	if code := apiCall(t, "GET", url, token(t, "stats-a", "alice2", nil), nil); code != http.StatusForbidden {
		t.Errorf("join token: HTTP %d, want 403", code)
	}
	var own serverapi.AdminStats
	if code := apiCall(t, "GET", url, admin("stats-b", false), &own); code != http.StatusOK {
		t.Fatalf("room admin: HTTP %d", code)
	}
	if len(own.Rooms) != 1 || own.Rooms[0].Name != "stats-b" || own.Server != nil {
		t.Errorf("a room admin of stats-b sees %d rooms (server shown: %v)", len(own.Rooms), own.Server != nil)
	}

	tok := admin("", false)
	var st serverapi.AdminStats
	eventually(t, 20*time.Second, "bob's subscriptions with a bitrate", func() bool {
		st = serverapi.AdminStats{}
		if apiCall(t, "GET", url, tok, &st) != http.StatusOK || len(st.Rooms) != 2 {
			return false
		}
		for _, p := range st.Rooms[0].Participants {
			if p.Identity != "bob" || len(p.Subscriptions) != 2 {
				continue
			}
			for _, s := range p.Subscriptions {
				if s.Bitrate <= 0 || s.PublisherIdentity != "alice" {
					return false
				}
			}
			return true
		}
		return false
	})
	time.Sleep(time.Second) // a second interval for the server-wide rates
	st = serverapi.AdminStats{}
	apiCall(t, "GET", url, tok, &st)
	r := st.Rooms[0]
	if r.Name != "stats-a" || len(r.Participants) != 2 {
		t.Fatalf("room %+v", r.RoomInfo)
	}
	if d := r.DominantSpeaker; d != nil && *d != r.Participants[0].Sid {
		t.Errorf("dominant speaker %s, but only alice publishes", *d)
	}
	a := r.Participants[0]
	if a.Identity != "alice" || len(a.Tracks) != 2 || len(a.Subscriptions) != 0 {
		t.Fatalf("alice: %d tracks, %d subscriptions", len(a.Tracks), len(a.Subscriptions))
	}
	for _, tr := range a.Tracks {
		if tr.Bitrate <= 0 || tr.Packets == 0 || tr.Subscribers != 1 || (tr.Kind == "audio") != (tr.AudioLevel != nil) {
			t.Errorf("alice's %s track: %+v", tr.Kind, tr)
		}
	}
	for _, s := range r.Participants[1].Subscriptions {
		if s.Layer != nil || s.Paused {
			t.Errorf("%s: a layer or a pause (%v) for a track without simulcast", s.Kind, s.Paused)
		}
	}
	for _, tr := range a.Tracks {
		if len(tr.Received) != 1 || !tr.Received[0].Active || tr.Received[0].Bitrate == 0 {
			t.Errorf("alice's %s track arrives as %+v", tr.Kind, tr.Received)
		}
	}
	srv := st.Server
	if srv == nil || srv.Rooms != 2 || srv.Participants != 3 || srv.PacketsInPerSec <= 0 || srv.PacketsOutPerSec <= 0 {
		t.Fatalf("server stats %+v", srv)
	}
	if srv.CPUSeconds == nil || *srv.CPUSeconds <= 0 || srv.RSSBytes == nil || *srv.RSSBytes < 1<<20 {
		t.Errorf("process stats: cpu %v rss %v", srv.CPUSeconds, srv.RSSBytes)
	}
}
