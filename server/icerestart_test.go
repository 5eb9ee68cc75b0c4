package server

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/client"
	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/serverapi"
)

// directCounts sums what Podium's own media path carried for one participant: the packets of
// its tracks it decrypted (read path) and those of its subscriptions it encrypted (write path).
func directCounts(t *testing.T, n *Node, identity string) (read, written uint64) {
	t.Helper()
	var st serverapi.AdminStats
	apiCall(t, "GET", n.HTTPURL()+"/api/admin/stats", apiToken(t, auth.Grant{RoomAdmin: true, RoomList: true}), &st)
	for _, r := range st.Rooms {
		for _, p := range r.Participants {
			if p.Identity != identity {
				continue
			}
			for _, tr := range p.Tracks {
				read += tr.DirectPackets
			}
			for _, s := range p.Subscriptions {
				written += s.DirectPackets
			}
		}
	}
	return read, written
}

// connectOver joins over the network n instead of the host's.
func connectOver(t *testing.T, node *Node, room, identity string, n *faultNet) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, node.URL(), token(t, room, identity, nil),
		client.Options{Loopback: true, Net: n})
	if err != nil {
		t.Fatalf("%s: connect: %v", identity, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestICERestartAfterNetworkChange: alice's network goes away for 5 s and comes back with
// other sockets (other local ports), as when a laptop changes Wi-Fi. Her client restarts ICE on
// both connections; media flows again both ways on the same participant, the same tracks and
// the same SSRCs: bob sees no leave and no new track, and decodes alice's keyframes again.
func TestICERestartAfterNetworkChange(t *testing.T) {
	node := startNode(t)
	net := newFaultNet(1)
	alice := connectOver(t, node, "roam", "alice", net)
	bob := connect(t, node, "roam", "bob")
	atAlice, atBob := collect(alice), collect(bob)
	bobLog := logEvents(bob)
	publishCameraAndMic(t, alice)
	publishCameraAndMic(t, bob)
	aliceSid, bobSid := alice.Self().Sid, bob.Self().Sid
	flowing := func(col *collector, from string, since map[string]trackStats) func() bool {
		return func() bool {
			got := col.byParticipant(from)
			v, a := got[protocol.KindVideo], got[protocol.KindAudio]
			return v.keyframes > since[protocol.KindVideo].keyframes && v.width == 640 &&
				v.packets > since[protocol.KindVideo].packets+30 && a.packets > since[protocol.KindAudio].packets+25
		}
	}
	none := map[string]trackStats{}
	eventually(t, 20*time.Second, "bob receiving alice", flowing(atBob, aliceSid, none))
	eventually(t, 20*time.Second, "alice receiving bob", flowing(atAlice, bobSid, none))
	tracksAtBob, tracksAtAlice := atBob.count(), atAlice.count()

	net.cut()
	eventually(t, 20*time.Second, "alice restarting ICE", func() bool { return alice.ICERestarts() > 0 })
	time.Sleep(5 * time.Second) // the path stays down for this long after the restarts begin
	beforeAtBob, beforeAtAlice := atBob.byParticipant(aliceSid), atAlice.byParticipant(bobSid)
	opened := net.opened.Load()
	net.restore()
	back := time.Now()
	eventually(t, 15*time.Second, "bob receiving alice after the network came back", flowing(atBob, aliceSid, beforeAtBob))
	t.Logf("bob decodes alice's keyframes again %v after the network came back (%d restarts)",
		time.Since(back).Round(10*time.Millisecond), alice.ICERestarts())
	eventually(t, 15*time.Second, "alice receiving bob after the network came back", flowing(atAlice, bobSid, beforeAtAlice))
	t.Logf("both ways %v after the network came back", time.Since(back).Round(10*time.Millisecond))

	if got := alice.Self().Sid; got != aliceSid {
		t.Errorf("alice is %s after the restart, was %s: she rejoined", got, aliceSid)
	}
	if m, _ := bobLog.find(0, func(m protocol.Message) bool {
		left, ok := m.(*protocol.ParticipantLeft)
		return ok && left.Sid == aliceSid
	}); m != nil {
		t.Error("bob saw alice leave")
	}
	if atBob.count() != tracksAtBob || atAlice.count() != tracksAtAlice {
		t.Errorf("tracks %d at bob and %d at alice after the restart, were %d and %d: new tracks, not the same ones",
			atBob.count(), atAlice.count(), tracksAtBob, tracksAtAlice)
	}
	if net.opened.Load() == opened && alice.ICERestarts() == 1 {
		t.Log("the one restart's sockets, opened during the cut, carried the media")
	}
	// Podium's own media path kept both of alice's connections across the new pair (its route
	// moved; each stream kept its one SRTP context): it still reads her media and writes hers.
	if os.Getenv("PODIUM_FAST_PATH") != "0" {
		read, written := directCounts(t, node, "alice")
		eventually(t, 5*time.Second, "alice's media on Podium's own path after the restart", func() bool {
			r, w := directCounts(t, node, "alice")
			return r > read+50 && w > written+50
		})
	}
}
