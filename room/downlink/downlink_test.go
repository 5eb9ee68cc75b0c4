package downlink

import (
	"errors"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room/alloc"
	"github.com/podium-sfu/podium/room/stats"
	"github.com/podium-sfu/podium/sfu"
)

// fakeTrack is a published track of another participant, with a receiver and no media.
type fakeTrack struct {
	sid  string
	info protocol.TrackInfo
	r    *sfu.Receiver
}

func video(sid string, layers ...protocol.Layer) *fakeTrack {
	codec := webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}}
	return &fakeTrack{sid: sid, info: protocol.TrackInfo{Sid: sid, Kind: protocol.KindVideo, Source: protocol.SourceCamera, Layers: layers},
		r: sfu.NewReceiver(sfu.ReceiverParams{Codec: codec, Kind: webrtc.RTPCodecTypeVideo})}
}

func (t *fakeTrack) Sid() string              { return t.sid }
func (t *fakeTrack) Receiver() *sfu.Receiver  { return t.r }
func (t *fakeTrack) Info() protocol.TrackInfo { return t.info }
func (t *fakeTrack) OwnerSid() string         { return "PA_owner" }
func (t *fakeTrack) OwnerIdentity() string    { return "owner" }

// fakePeer puts down tracks on no connection; a track named "broken" cannot be added.
type fakePeer struct{ removed []string }

func (f *fakePeer) NewDownTrack(r *sfu.Receiver, p sfu.DownTrackParams) *sfu.DownTrack {
	return sfu.NewDownTrack(r, p)
}
func (f *fakePeer) RemoveTrack(dt *sfu.DownTrack) error {
	f.removed = append(f.removed, dt.ID())
	return nil
}
func (f *fakePeer) Mid(dt *sfu.DownTrack) string   { return "mid-" + dt.ID() }
func (f *fakePeer) Estimate() int                  { return -1 }
func (f *fakePeer) MeasuredEstimate() (int, bool)  { return -1, false }
func (f *fakePeer) EstimatorStats() map[string]any { return nil }

type harness struct {
	set    *Set
	peer   *fakePeer
	sent   []protocol.Message
	queued []func()
}

func newHarness() *harness {
	h := &harness{peer: &fakePeer{}}
	h.set = New(Host{
		Peer: h.peer, Send: func(m protocol.Message) { h.sent = append(h.sent, m) },
		Queue:    func(f func()) bool { h.queued = append(h.queued, f); return true },
		Logger:   slog.New(slog.DiscardHandler),
		Speakers: func() alloc.Speakers { return alloc.Speakers{} },
		Retired:  &stats.Retired{},
	})
	return h
}

func add(*sfu.DownTrack) error { return nil }

func want(tracks ...*fakeTrack) map[string]Track {
	m := map[string]Track{}
	for _, t := range tracks {
		m[t.sid] = t
	}
	return m
}

// Sync converges on what is wanted and says whether anything changed; Announce tells the
// client of each new subscription once, with its mid.
func TestSyncAndAnnounce(t *testing.T) {
	h := newHarness()
	a, b := video("TR_a"), video("TR_b")
	if !h.set.Sync(want(a, b), add) || h.set.Len() != 2 {
		t.Fatalf("first sync: %d subscriptions, want 2", h.set.Len())
	}
	if h.set.Sync(want(a, b), add) {
		t.Fatal("a sync that changes nothing reported a change")
	}
	h.set.Announce()
	h.set.Announce()
	subscribed := map[string]string{}
	for _, m := range h.sent {
		if ts, ok := m.(*protocol.TrackSubscribed); ok {
			if _, dup := subscribed[ts.TrackSid]; dup {
				t.Fatalf("%s announced twice", ts.TrackSid)
			}
			subscribed[ts.TrackSid] = ts.Mid
		}
	}
	if len(subscribed) != 2 || subscribed["TR_a"] != "mid-TR_a" {
		t.Fatalf("announced %v", subscribed)
	}
	if !h.set.Sync(want(b), add) || h.set.Has("TR_a") || !slices.Equal(h.peer.removed, []string{"TR_a"}) {
		t.Fatalf("a track no longer wanted: has %v, removed %v", h.set.Has("TR_a"), h.peer.removed)
	}
	// A track put back under the same sid by another publication is a new subscription.
	b2 := video("TR_b")
	if !h.set.Sync(want(b2), add) || !slices.Equal(h.peer.removed, []string{"TR_a", "TR_b"}) {
		t.Fatalf("a republished track was not subscribed again: removed %v", h.peer.removed)
	}
	failing := func(*sfu.DownTrack) error { return errors.New("no room on the connection") }
	if h.set.Sync(want(b2, video("TR_c")), failing) || h.set.Has("TR_c") {
		t.Fatal("a subscription the connection refused was counted")
	}
}

// What the subscriber renders is kept for a subscription that starts later, and the
// allocation's explanation names every video received.
func TestSettingsKeptAndExplained(t *testing.T) {
	h := newHarness()
	cam := video("TR_cam", protocol.Layer{RID: "q", Width: 320}, protocol.Layer{RID: "f", Width: 1280})
	if h.set.SetSettings(protocol.TrackSettings{TrackSid: "TR_cam", Width: 320, Height: 180}) {
		t.Fatal("settings of a track not received said it was received")
	}
	h.set.Sync(want(cam), add)
	if got := h.set.Stats(); len(got) != 1 || got[0].Settings == nil || got[0].Settings.Width != 320 {
		t.Fatalf("stats %+v: want the settings said before subscribing", got)
	}
	if !h.set.SetSettings(protocol.TrackSettings{TrackSid: "TR_cam", Width: 1280, Height: 720}) {
		t.Fatal("settings of a track received said it was not")
	}
	h.set.Allocate(time.Now())
	e := h.set.Explain("viewer")
	if e.Identity != "viewer" || len(e.Tracks) != 1 || e.Tracks[0].TrackSid != "TR_cam" || e.Tracks[0].Participant != "owner" {
		t.Fatalf("explained %+v", e)
	}
}

// A down track's layer changes reach the client as stream states, once per change, and not
// once the participant is leaving.
func TestStreamStatesOncePerChange(t *testing.T) {
	h := newHarness()
	h.set.Sync(want(video("TR_v")), add)
	h.sent = nil
	for range 2 {
		h.set.layerForwarded("TR_v", sfu.LayerNone)
	}
	if n := len(h.sent); n != 1 {
		t.Fatalf("%d stream states for one pause, want 1", n)
	}
	h.set.Stop()
	h.set.layerForwarded("TR_v", 0)
	if n := len(h.sent); n != 1 {
		t.Fatalf("a stream state was sent after Stop")
	}
}
