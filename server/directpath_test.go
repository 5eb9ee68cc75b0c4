package server

import (
	"testing"
	"time"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/room"
	"github.com/podium-sfu/podium/serverapi"
)

// TestDirectWritePath: Podium encrypts and sends subscribers' media itself. Bob decodes alice's
// VP8 keyframes and hears her, nearly every packet the server sent him went through Podium's own
// write path, and his receiver reports answer the server's own sender reports (a round-trip
// time is measured) that arrive on Podium's own read path, which also decrypts and forwards
// nearly every packet alice sends: with bandwidth estimation off and one media socket, and with
// it on and four sockets sharing the port.
func TestDirectWritePath(t *testing.T) {
	for _, c := range []struct {
		bwe     bool
		readers int
	}{{false, 1}, {true, 4}} {
		bwe := c.bwe
		n := startNodeWith(t, func(cfg *Config) {
			cfg.Room = room.Config{BandwidthEstimation: bwe}
			cfg.Media.UDPReaders = c.readers
		})
		alice, bob := connect(t, n, "direct", "alice"), connect(t, n, "direct", "bob")
		collect(alice)
		col := collect(bob)
		publishCameraAndMic(t, alice)
		eventually(t, 15*time.Second, "alice's video and audio at bob", func() bool {
			got := col.byParticipant(alice.Self().Sid)
			return got["video"].keyframes > 0 && got["video"].width == 640 && got["audio"].packets > 50
		})
		url, tok := n.HTTPURL()+"/api/admin/stats", apiToken(t, auth.Grant{RoomAdmin: true, RoomList: true})
		participant := func(identity string) (p serverapi.AdminParticipant) {
			var st serverapi.AdminStats
			apiCall(t, "GET", url, tok, &st)
			for _, r := range st.Rooms {
				for _, q := range r.Participants {
					if q.Identity == identity {
						p = q
					}
				}
			}
			return p
		}
		var subs []serverapi.AdminSubscription
		var estimate *int
		eventually(t, 10*time.Second, "a round-trip time from bob's receiver reports", func() bool {
			bob := participant("bob")
			subs, estimate = bob.Subscriptions, bob.DownlinkEstimate
			for _, s := range subs {
				if s.RTTMillis <= 0 {
					return false
				}
			}
			return len(subs) == 2
		})
		if bwe != (estimate != nil && *estimate > 0) {
			t.Errorf("estimation %v: bob's downlink estimate %v", bwe, estimate)
		}
		for _, s := range subs {
			t.Logf("bwe %v: %s: rtt %.2f ms, %d of %d packets on Podium's write path, %d RTCP packets on its read path",
				bwe, s.Kind, s.RTTMillis, s.DirectPackets, s.Packets, s.DirectRTCP)
			if s.DirectPackets < s.Packets*9/10 {
				t.Errorf("%s: %d of %d packets on Podium's write path, want nearly all", s.Kind, s.DirectPackets, s.Packets)
			}
			if s.DirectRTCP == 0 {
				t.Errorf("%s: no RTCP from bob on Podium's read path", s.Kind)
			}
		}
		// The read path takes a layer over once pion has read its first packets: count what
		// arrives from here on.
		before := map[string]serverapi.AdminTrack{}
		for _, tr := range participant("alice").Tracks {
			before[tr.Sid] = tr
		}
		time.Sleep(time.Second)
		tracks := participant("alice").Tracks
		for _, tr := range tracks {
			pkts, direct := tr.Packets-before[tr.Sid].Packets, tr.DirectPackets-before[tr.Sid].DirectPackets
			t.Logf("bwe %v: alice's %s: %d of %d packets in a second on Podium's read path", bwe, tr.Kind, direct, pkts)
			if pkts == 0 || direct < pkts*95/100 {
				t.Errorf("alice's %s: %d of %d packets in a second on Podium's read path, want all", tr.Kind, direct, pkts)
			}
		}
		if len(tracks) != 2 {
			t.Errorf("alice publishes %d tracks, want 2", len(tracks))
		}
	}
}
