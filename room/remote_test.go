package room

import (
	"sync"
	"testing"

	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/sfu"
)

// fakeCluster is one other node whose relayed receivers the test sets.
type fakeCluster struct {
	mu        sync.Mutex
	receivers map[string]*sfu.Receiver // by track sid
	forgotten []string
}

func (c *fakeCluster) NodeID() string                                             { return "here" }
func (c *fakeCluster) Announce(string, string, int64, []protocol.ParticipantInfo) {}
func (c *fakeCluster) PublishData(string, string, []byte, bool, []string)         {}
func (c *fakeCluster) Want(string, map[string]uint8)                              {}
func (c *fakeCluster) Needed(string) uint8                                        { return 0 }
func (c *fakeCluster) Placements(string) []Placement                              { return nil }

func (c *fakeCluster) RemoteReceiver(_, trackSid string) *sfu.Receiver {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.receivers[trackSid]
}

func (c *fakeCluster) Forget(_, trackSid string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.forgotten = append(c.forgotten, trackSid)
}

func (c *fakeCluster) relay(trackSid string) *sfu.Receiver {
	r := sfu.NewReceiver(sfu.ReceiverParams{Kind: webrtc.RTPCodecTypeVideo,
		Codec: webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}}})
	c.mu.Lock()
	c.receivers[trackSid] = r
	c.mu.Unlock()
	return r
}

// A relay that died takes its receivers with it: the remote track is unpublished here, stays
// announced, and is published again on the new relay's receiver, whichever of the loss and the
// new receiver the room hears of first. The new receiver is never forgotten.
func TestRemoteTracksLostArePublishedAgain(t *testing.T) {
	tr := newTestRoom(t)
	c := &fakeCluster{receivers: map[string]*sfu.Receiver{}}
	tr.manager.env.Cluster = c
	bob := tr.join(t, "bob", subscriber)
	cam := protocol.TrackInfo{Sid: "TR_cam", Kind: protocol.KindVideo, Source: protocol.SourceCamera}
	tr.joinRemote("n2", protocol.ParticipantInfo{Sid: "PA_carol", Identity: "carol", Tracks: []protocol.TrackInfo{cam}})
	carol := member{Participant: tr.bySid("PA_carol")}
	settle := func() { carol.flush(t); bob.settle(t) }

	var sub *sfu.DownTrack // bob's subscription to carol's camera
	published := func(want *sfu.Receiver) {
		t.Helper()
		ts := carol.PublishedTracks()
		if len(ts) != 1 || ts[0].Receiver() != want {
			t.Fatalf("carol's published tracks: %d, want one on the current relay's receiver", len(ts))
		}
		if len(bob.peer.Tracks) != 1 {
			t.Fatalf("bob sends %v, want carol's camera", bob.peer.SentTracks())
		}
		for dt := range bob.peer.Tracks {
			if dt == sub {
				t.Fatal("bob kept his subscription to the lost receiver")
			}
			sub = dt
		}
	}
	events := func(want ...string) {
		t.Helper()
		var got []string
		for _, m := range bob.sink.Take() {
			switch m := m.(type) {
			case *protocol.TrackPublished:
				got = append(got, "published "+m.Track.Sid)
			case *protocol.TrackUnpublished:
				got = append(got, "unpublished "+m.TrackSid)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("bob was told %v, want %v", got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("bob was told %v, want %v", got, want)
			}
		}
	}

	first := c.relay("TR_cam")
	tr.manager.RemoteTrackReady("n2", "PA_carol", "TR_cam")
	settle()
	published(first)
	events("published TR_cam")

	// The loss first, then the new relay's receiver.
	tr.manager.RemoteTracksLost("n2", []string{"TR_cam"})
	c.mu.Lock()
	delete(c.receivers, "TR_cam")
	c.mu.Unlock()
	settle()
	if n := len(carol.PublishedTracks()); n != 0 || len(bob.peer.Tracks) != 0 {
		t.Fatalf("after their relay died carol still publishes %d tracks, bob sends %v", n, bob.peer.SentTracks())
	}
	events("unpublished TR_cam")
	second := c.relay("TR_cam")
	tr.manager.RemoteTrackReady("n2", "PA_carol", "TR_cam")
	settle()
	published(second)
	events("published TR_cam")

	// The new relay's receiver first (its publish is a duplicate), then the loss.
	third := c.relay("TR_cam")
	tr.manager.RemoteTrackReady("n2", "PA_carol", "TR_cam")
	tr.manager.RemoteTracksLost("n2", []string{"TR_cam"})
	settle()
	published(third)
	events("unpublished TR_cam", "published TR_cam")

	// A loss the new receiver already replaced changes nothing.
	tr.manager.RemoteTracksLost("n2", []string{"TR_cam"})
	settle()
	_, kept := bob.peer.Tracks[sub]
	if ts := carol.PublishedTracks(); len(ts) != 1 || ts[0].Receiver() != third || !kept || len(bob.peer.Tracks) != 1 {
		t.Fatal("a stale loss took the new receiver's track")
	}
	events()
	if len(c.forgotten) != 0 {
		t.Errorf("forgot %v: the relays close a dead relay's receivers, Forget would close the new one's", c.forgotten)
	}
}
