package server

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/podium-sfu/podium/client"
	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room"
	"github.com/podium-sfu/podium/testmedia"
)

const shortEmptyTimeout = 300 * time.Millisecond

func createRoom(t *testing.T, n *Node, name string, emptyTimeout time.Duration) string {
	t.Helper()
	r, err := n.Rooms().CreateRoom(room.RoomOptions{Name: name, EmptyTimeout: emptyTimeout})
	if err != nil {
		t.Fatal(err)
	}
	return r.Info().Sid
}

// outlive creates an empty room with the short timeout and waits for it to close: proof that
// a full empty timeout has passed since the call, without sleeping a guessed time.
func outlive(t *testing.T, n *Node, name string) {
	t.Helper()
	createRoom(t, n, name, shortEmptyTimeout)
	eventually(t, 5*time.Second, "control room "+name+" to close", func() bool { return n.Rooms().Room(name) == nil })
}

func roomSid(n *Node, name string) string {
	if r := n.Rooms().Room(name); r != nil {
		return r.Info().Sid
	}
	return ""
}

// TestEmptyRoomCloses: a created room nobody joins closes once its empty timeout has passed,
// not before.
func TestEmptyRoomCloses(t *testing.T) {
	n := startNode(t)
	start := time.Now()
	createRoom(t, n, "brief", shortEmptyTimeout)
	eventually(t, 5*time.Second, "the empty room to close", func() bool { return n.Rooms().Room("brief") == nil })
	if d := time.Since(start); d < shortEmptyTimeout {
		t.Fatalf("room closed after %v, before its %v empty timeout", d, shortEmptyTimeout)
	}
}

// TestOccupiedRoomStays: a room with someone in it outlives its empty timeout; once they leave
// and it stays empty for the timeout, it closes.
func TestOccupiedRoomStays(t *testing.T) {
	n := startNode(t)
	sid := createRoom(t, n, "kept", shortEmptyTimeout)
	ann := connect(t, n, "kept", "ann")
	if ann.Room().Sid != sid {
		t.Fatalf("ann joined room %s, want the created %s", ann.Room().Sid, sid)
	}
	outlive(t, n, "control")
	if got := roomSid(n, "kept"); got != sid {
		t.Fatalf("occupied room after its empty timeout: sid %q, want %q", got, sid)
	}
	if err := ann.Close(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the room to close once empty", func() bool { return n.Rooms().Room("kept") == nil })
}

// TestRejoinKeepsRoom: when the last participant leaves and someone joins before the empty
// timeout, it is still the same room. The timeout is long enough for a join on a loaded
// machine; closing at once or making a new room still fails.
func TestRejoinKeepsRoom(t *testing.T) {
	const timeout = 5 * time.Second
	n := startNode(t)
	sid := createRoom(t, n, "kept", timeout)
	ann := connect(t, n, "kept", "ann")
	if err := ann.Close(); err != nil {
		t.Fatal(err)
	}
	var empty time.Time
	eventually(t, 5*time.Second, "ann gone", func() bool {
		r := n.Rooms().Room("kept")
		empty = time.Now()
		return r == nil || r.Info().NumParticipants == 0
	})
	bob := connect(t, n, "kept", "bob")
	if took := time.Since(empty); took >= timeout {
		t.Fatalf("the rejoin took %v, longer than the %v timeout: machine too loaded to tell", took, timeout)
	}
	if bob.Room().Sid != sid || roomSid(n, "kept") != sid {
		t.Fatalf("rejoin within the timeout got room %s (listed %q), want the same room %s",
			bob.Room().Sid, roomSid(n, "kept"), sid)
	}
}

// TestTrackLimitAndDuplicateCid: a participant may publish 8 tracks, the 9th gets `limit`;
// announcing a cid that is already announced or published gets `conflict`. The session goes
// on after both.
func TestTrackLimitAndDuplicateCid(t *testing.T) {
	n := startNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	wantError := func(c *client.Client, req *protocol.Publish, code string) {
		t.Helper()
		_, err := c.Request(ctx, req)
		var perr *protocol.Error
		if !errors.As(err, &perr) || perr.Code != code {
			t.Fatalf("publish %q: %v, want error %s", req.CID, err, code)
		}
	}

	ann := connect(t, n, "r1", "ann")
	for i := range 8 {
		cid := fmt.Sprintf("mic-%d", i)
		reply, err := ann.Request(ctx, &protocol.Publish{CID: cid, Kind: protocol.KindAudio, Source: protocol.SourceMicrophone})
		if p, ok := reply.(*protocol.Published); err != nil || !ok || p.CID != cid || p.Track.Sid == "" {
			t.Fatalf("publish %d: %v %v", i, reply, err)
		}
	}
	wantError(ann, &protocol.Publish{CID: "mic-8", Kind: protocol.KindAudio, Source: protocol.SourceMicrophone}, protocol.CodeLimit)
	if _, err := ann.Request(ctx, &protocol.Ping{TS: 1}); err != nil {
		t.Fatalf("session died after limit: %v", err)
	}

	// A cid announced and not yet carrying media.
	bob := connect(t, n, "r1", "bob")
	if _, err := bob.Request(ctx, &protocol.Publish{CID: "cam", Kind: protocol.KindVideo, Source: protocol.SourceCamera}); err != nil {
		t.Fatal(err)
	}
	wantError(bob, &protocol.Publish{CID: "cam", Kind: protocol.KindVideo, Source: protocol.SourceCamera}, protocol.CodeConflict)

	// A cid whose media flows: the SDK's cid is its sender's track id.
	carol := connect(t, n, "r1", "carol")
	if _, err := carol.PublishOgg(ctx, testmedia.Opus(), client.Microphone()); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "carol's track to carry media", func() bool {
		p := n.Rooms().Room("r1").Participant("carol")
		return p != nil && len(p.Info().Tracks) == 1
	})
	pub, _ := carol.PeerConnections()
	cid := ""
	for _, tr := range pub.GetTransceivers() {
		if s := tr.Sender(); s != nil && s.Track() != nil {
			cid = s.Track().ID()
		}
	}
	if cid == "" {
		t.Fatal("no sender track on carol's publisher connection")
	}
	wantError(carol, &protocol.Publish{CID: cid, Kind: protocol.KindAudio, Source: protocol.SourceMicrophone}, protocol.CodeConflict)
	if _, err := carol.Request(ctx, &protocol.Ping{TS: 2}); err != nil {
		t.Fatalf("session died after conflict: %v", err)
	}
}
