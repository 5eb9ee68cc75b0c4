package participant

import (
	"errors"
	"slices"
	"testing"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room/participant/participanttest"
)

// TestReconcileBatchesChanges: whatever changes while a subscriber's control queue is busy (two
// publishers' new tracks, a third participant's arrival with one) ends in exactly the tracks it
// should receive and one subscriber offer, which names each new track's mid.
func TestReconcileBatchesChanges(t *testing.T) {
	r := newTestRoom(t)
	ann := r.join(t, "ann", publisher)
	bob := r.join(t, "bob", subscriber)
	offers := len(bob.peer.Offers)

	release := bob.hold(t)
	mic, cam := ann.publish(t, "mic", protocol.KindAudio), ann.publish(t, "cam", protocol.KindVideo)
	cat := r.join(t, "cat", publisher)
	catMic := cat.publish(t, "mic", protocol.KindAudio)
	release()

	if got, want := bob.peer.SentTracks(), sids(mic, cam, catMic); !slices.Equal(got, want) {
		t.Fatalf("bob receives %v, want %v", got, want)
	}
	if got := len(bob.peer.Offers) - offers; got != 1 {
		t.Fatalf("%d subscriber offers for one batch of changes, want 1", got)
	}
	msgs := bob.sink.Take()
	subscribed := participanttest.MessagesOf[*protocol.TrackSubscribed](msgs)
	if len(subscribed) != 3 {
		t.Fatalf("%d trackSubscribed, want 3", len(subscribed))
	}
	for _, s := range subscribed {
		if s.Mid == "" {
			t.Errorf("trackSubscribed for %s without a mid", s.TrackSid)
		}
	}
	if o := participanttest.MessagesOf[*protocol.Offer](msgs); len(o) != 1 || o[0].Target != protocol.TargetSubscriber {
		t.Fatalf("offers sent: %+v", o)
	}
}

// TestReconcileFollowsUnpublishAndChoices: a track unpublished and one the subscriber turned
// down, together, are removed with one subscriber offer, and only what remains is received; a
// track turned down stays down when its publisher adds another.
func TestReconcileFollowsUnpublishAndChoices(t *testing.T) {
	r := newTestRoom(t)
	ann := r.join(t, "ann", publisher)
	bob := r.join(t, "bob", subscriber)
	mic, cam, screen := ann.publish(t, "mic", protocol.KindAudio), ann.publish(t, "cam", protocol.KindVideo),
		ann.publish(t, "screen", protocol.KindVideo)
	bob.settle(t)
	offers := len(bob.peer.Offers)

	release := bob.hold(t)
	bob.do("s", func(c Control) error {
		return c.Subscribe(&protocol.Subscribe{ID: "s", TrackSids: []string{screen.sid}, Subscribe: false})
	})
	ann.do("u", func(c Control) error { return c.Unpublish(&protocol.Unpublish{ID: "u", TrackSid: cam.sid}) })
	ann.flush(t)
	release()
	if got, want := bob.peer.SentTracks(), sids(mic); !slices.Equal(got, want) {
		t.Fatalf("bob receives %v, want %v", got, want)
	}
	if got := len(bob.peer.Offers) - offers; got != 1 {
		t.Fatalf("%d subscriber offers for two removals, want 1", got)
	}

	bob.answer(t)
	ann.publish(t, "mic2", protocol.KindAudio)
	bob.flush(t)
	if got := bob.peer.SentTracks(); len(got) != 2 || slices.Contains(got, screen.sid) {
		t.Fatalf("bob receives %v: the screen he turned down came back, or the new track did not", got)
	}
}

// TestReconcileRespectsPermissions: a participant that may not subscribe receives nothing and
// is refused when it asks; nobody receives a hidden participant's tracks.
func TestReconcileRespectsPermissions(t *testing.T) {
	r := newTestRoom(t)
	ann := r.join(t, "ann", publisher)
	deaf := r.join(t, "deaf", protocol.Permissions{CanPublish: true})
	hidden := r.join(t, "rec", protocol.Permissions{CanPublish: true, CanSubscribe: true, Hidden: true})
	bob := r.join(t, "bob", subscriber)
	mic := ann.publish(t, "mic", protocol.KindAudio)
	hidden.publish(t, "mic", protocol.KindAudio)
	deaf.flush(t)
	bob.flush(t)
	if got := deaf.peer.SentTracks(); len(got) != 0 {
		t.Fatalf("a participant without CanSubscribe receives %v", got)
	}
	if got, want := bob.peer.SentTracks(), sids(mic); !slices.Equal(got, want) {
		t.Fatalf("bob receives %v, want %v (not the hidden participant's)", got, want)
	}
	deaf.sink.Take()
	deaf.do("s", func(c Control) error {
		return c.Subscribe(&protocol.Subscribe{ID: "s", TrackSids: []string{mic.sid}, Subscribe: true})
	})
	deaf.flush(t)
	if e := deaf.sink.TakeRefusals(); len(e) != 1 || !errors.Is(e[0].Err, ErrForbidden) {
		t.Fatalf("subscribe without permission answered %+v", e)
	}
}
