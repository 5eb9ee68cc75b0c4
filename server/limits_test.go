package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/client"
	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room"
)

// Finding 4: participants at the documented maximum of metadata made `joined` larger than a
// frame, and every newcomer failed ("offer before joined"). At its cap, with every name and
// metadata at the maximum, the room must still be joinable and the newcomer see everyone.
func TestRoomAtEveryLimitStaysJoinable(t *testing.T) {
	n := startNode(t)
	const capacity = 6
	if _, err := n.Rooms().CreateRoom(room.RoomOptions{Name: "full", MaxParticipants: capacity,
		Metadata: strings.Repeat("r", protocol.MaxMetadataLen)}); err != nil {
		t.Fatal(err)
	}
	metadata := strings.Repeat("m", protocol.MaxMetadataLen)
	for i := range capacity - 1 {
		c := connect(t, n, "full", fmt.Sprintf("member%d", i))
		name := fmt.Sprintf("%d%s", i, strings.Repeat("n", protocol.MaxNameLen-1))
		if err := c.UpdateMetadata(&name, &metadata); err != nil { // tokens are smaller than 16 KiB
			t.Fatal(err)
		}
	}
	eventually(t, 5*time.Second, "everyone's metadata set", func() bool {
		for _, p := range n.Rooms().Room("full").Participants(false) {
			if p.Metadata != metadata {
				return false
			}
		}
		return true
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	late, err := client.Connect(ctx, n.URL(), token(t, "full", "late", nil), client.Options{Loopback: true})
	if err != nil {
		t.Fatalf("the room at its limits cannot be joined: %v", err)
	}
	defer late.Close()
	others := late.Participants()
	if len(others) != capacity-1 {
		t.Fatalf("the newcomer sees %d participants, want %d", len(others), capacity-1)
	}
	for _, p := range others {
		if p.Metadata != metadata || len(p.Name) != protocol.MaxNameLen {
			t.Fatalf("%s arrived with %d bytes of metadata and a name of %d", p.Identity, len(p.Metadata), len(p.Name))
		}
	}
	if late.Room().Metadata != strings.Repeat("r", protocol.MaxMetadataLen) {
		t.Fatal("the room's metadata did not arrive whole")
	}
	// The negotiation that follows joined works: the newcomer receives its subscriber offer.
	pub := connect(t, n, "full", "member0") // replaces member0 with a publisher
	publishCameraAndMic(t, pub)
	col := collect(late)
	eventually(t, 15*time.Second, "the newcomer receives media", func() bool {
		return col.byParticipant(pub.Self().Sid)["video"].keyframes > 0
	})
}

// Finding 5: each updateMetadata fanned out at once, so a sender at 50 frames a second sent
// everyone 16 KiB fifty times a second. Receivers get the latest state, coalesced.
func TestMetadataUpdatesAreCoalesced(t *testing.T) {
	n := startNode(t)
	by := watchBystander(t, n, "meta")
	sender := connect(t, n, "meta", "sender")
	receiver := connect(t, n, "meta", "receiver")
	events := logEvents(receiver)
	metadata := strings.Repeat("m", protocol.MaxMetadataLen)
	if err := sender.UpdateMetadata(nil, &metadata); err != nil {
		t.Fatal(err)
	}
	baseline := cpuShare(time.Second)
	heap := watchHeap()
	// As in the trial: 45-byte frames that each changed 16 KiB of state at every receiver, at
	// the signalling rate (so only coalescing bounds the fan-out).
	const updates, rate = 150, 50
	start := time.Now()
	var last string
	for i := range updates {
		last = fmt.Sprint("sender ", i)
		if err := sender.UpdateMetadata(&last, nil); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second / rate)
	}
	end := time.Now()
	elapsed := end.Sub(start)
	fromSender := func(m protocol.Message) bool {
		u, ok := m.(*protocol.ParticipantUpdated)
		return ok && u.Participant.Identity == "sender"
	}
	eventually(t, 5*time.Second, "the final name at the receiver", func() bool {
		for _, p := range receiver.Participants() {
			if p.Identity == "sender" && p.Name == last && p.Metadata == metadata {
				return true
			}
		}
		return false
	})
	heap.check(t)
	by.check(t)
	checkIdleAfter(t, end, baseline)
	count := 0
	for i := 0; ; i++ {
		m, at := events.find(i, fromSender)
		if m == nil {
			break
		}
		count, i = count+1, at
	}
	most := int(elapsed/room.DefaultLimits.MetadataInterval) + 3
	t.Logf("%d updates in %v reached the receiver as %d participantUpdated (at most %d)", updates, elapsed.Round(time.Millisecond), count, most)
	if count > most {
		t.Errorf("the receiver got %d participantUpdated for %d updates in %v; coalesced, at most %d", count, updates, elapsed, most)
	}
	select {
	case <-sender.Done():
		t.Error("a sender within the signalling rate was disconnected")
	default:
	}
}

// Finding 10: a participant could rename itself to another's name.
func TestRenameToAnothersNameIsRefused(t *testing.T) {
	n := startNode(t)
	connectWith(t, n, "names", "ann", func(o *auth.MintOptions) { o.Name = "Ann Example" })
	bob := connect(t, n, "names", "bob")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	name := "ann example"
	_, err := bob.Request(ctx, &protocol.UpdateMetadata{Name: &name})
	var perr *protocol.Error
	if !errors.As(err, &perr) || perr.Code != protocol.CodeConflict {
		t.Fatalf("renaming to another's name: %v, want a conflict error", err)
	}
	name = "Bob Example"
	if err := bob.UpdateMetadata(&name, nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "bob renamed", func() bool { return bob.Self().Name == name })
}

// Finding 10: hidden participants counted toward the room's cap while numParticipants showed
// none of them; they now have a cap of their own and leave the visible cap alone.
func TestHiddenParticipantsHaveTheirOwnCap(t *testing.T) {
	n := startNode(t)
	if _, err := n.Rooms().CreateRoom(room.RoomOptions{Name: "small", MaxParticipants: 2}); err != nil {
		t.Fatal(err)
	}
	hidden := func(o *auth.MintOptions) { o.Grant.Hidden = true }
	connectWith(t, n, "small", "recorder", hidden)
	connect(t, n, "small", "ann")
	connect(t, n, "small", "bob") // the recorder does not take a visible seat
	if got := n.Rooms().Room("small").Info().NumParticipants; got != 2 {
		t.Fatalf("numParticipants %d, want 2", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := client.Connect(ctx, n.URL(), token(t, "small", "carol", nil), client.Options{Loopback: true}); err == nil {
		t.Fatal("a third visible participant joined a room of two")
	}
	for i := range room.DefaultLimits.MaxHiddenParticipants - 1 {
		connectWith(t, n, "small", fmt.Sprint("monitor", i), hidden)
	}
	if _, err := client.Connect(ctx, n.URL(), token(t, "small", "one-too-many", hidden), client.Options{Loopback: true}); err == nil {
		t.Fatal("hidden participants past their cap joined")
	}
}
