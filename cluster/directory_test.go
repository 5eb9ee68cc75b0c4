package cluster

import (
	"testing"
	"time"

	"github.com/podium-sfu/podium/protocol"
)

func people(ids ...string) []protocol.ParticipantInfo {
	out := make([]protocol.ParticipantInfo, len(ids))
	for i, id := range ids {
		out[i] = protocol.ParticipantInfo{Sid: "PA_" + id, Identity: id, Tracks: []protocol.TrackInfo{}}
	}
	return out
}

func identities(ps []protocol.ParticipantInfo) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.Identity)
	}
	return out
}

func TestDirectoryAppliesInOrderAndAsksForASyncAfterAGap(t *testing.T) {
	d := newDirectory(5 * time.Second)
	t0 := time.Unix(1000, 0)
	ch, sync := d.applyState(RoomState{Node: "b", Epoch: 1, Seq: 1, Room: "r", Participants: people("ann")}, t0)
	if sync || len(ch) != 1 || len(ch[0].Joined) != 1 {
		t.Fatalf("first state: changes %+v sync %v", ch, sync)
	}
	// Seq 2 (room s) is lost; 3 (room r) arrives: applied, and a sync is asked for.
	ch, sync = d.applyState(RoomState{Node: "b", Epoch: 1, Seq: 3, Room: "r", Participants: people("ann", "bob")}, t0)
	if !sync || len(ch) != 1 || len(ch[0].Joined) != 1 || ch[0].Joined[0].Identity != "bob" {
		t.Fatalf("after a gap: changes %+v sync %v", ch, sync)
	}
	// A heartbeat naming a later change than we applied asks for a sync too.
	if _, sync = d.heartbeat(Heartbeat{Node: NodeInfo{ID: "b"}, Epoch: 1, Seq: 3}, t0); !sync {
		t.Fatal("heartbeat past our last change did not ask for a sync")
	}
	// The snapshot brings room s, and a stale copy of r does not undo bob.
	ch = d.applySnapshot(Snapshot{Node: "b", Epoch: 1, Seq: 3, Rooms: []RoomState{
		{Node: "b", Epoch: 1, Seq: 1, Room: "r", Participants: people("ann")},
		{Node: "b", Epoch: 1, Seq: 2, Room: "s", Participants: people("cy")},
	}}, t0)
	if len(ch) != 1 || ch[0].Room != "s" {
		t.Fatalf("snapshot changes: %+v", ch)
	}
	if got := identities(d.room("r")[0].Participants); len(got) != 2 {
		t.Fatalf("room r after the snapshot: %v", got)
	}
	if _, sync = d.heartbeat(Heartbeat{Node: NodeInfo{ID: "b"}, Epoch: 1, Seq: 3}, t0); sync {
		t.Fatal("in step, a heartbeat still asks for a sync")
	}
	// An old message after that changes nothing.
	if ch, _ = d.applyState(RoomState{Node: "b", Epoch: 1, Seq: 2, Room: "s"}, t0); len(ch) != 0 {
		t.Fatalf("stale state applied: %+v", ch)
	}
}

func TestDirectorySnapshotDropsRoomsTheNodeNoLongerHolds(t *testing.T) {
	d := newDirectory(5 * time.Second)
	t0 := time.Unix(1000, 0)
	d.applyState(RoomState{Node: "b", Epoch: 1, Seq: 1, Room: "r", Participants: people("ann")}, t0)
	ch := d.applySnapshot(Snapshot{Node: "b", Epoch: 1, Seq: 2}, t0)
	if len(ch) != 1 || len(ch[0].Left) != 1 || ch[0].Left[0].Identity != "ann" {
		t.Fatalf("changes: %+v", ch)
	}
	if len(d.rooms()) != 0 {
		t.Fatalf("rooms left: %+v", d.rooms())
	}
}

func TestDirectoryForgetsARestartedNodesOldParticipants(t *testing.T) {
	d := newDirectory(5 * time.Second)
	t0 := time.Unix(1000, 0)
	d.applyState(RoomState{Node: "b", Epoch: 1, Seq: 1, Room: "r", Participants: people("ann")}, t0)
	ch, sync := d.heartbeat(Heartbeat{Node: NodeInfo{ID: "b"}, Epoch: 2, Seq: 0}, t0)
	if sync || len(ch) != 1 || len(ch[0].Left) != 1 {
		t.Fatalf("restart: changes %+v sync %v", ch, sync)
	}
	// A late message of the old life is ignored.
	if ch, _ = d.applyState(RoomState{Node: "b", Epoch: 1, Seq: 2, Room: "r", Participants: people("ann")}, t0); len(ch) != 0 {
		t.Fatalf("old epoch applied: %+v", ch)
	}
}

func TestDirectoryExpiresSilentNodesButNotAfterOurOwnOutage(t *testing.T) {
	d := newDirectory(5 * time.Second)
	t0 := time.Unix(1000, 0)
	d.heartbeat(Heartbeat{Node: NodeInfo{ID: "b"}, Epoch: 1}, t0)
	d.applyState(RoomState{Node: "b", Epoch: 1, Seq: 1, Room: "r", Participants: people("ann", "bob")}, t0)
	d.heartbeat(Heartbeat{Node: NodeInfo{ID: "c"}, Epoch: 1}, t0.Add(4*time.Second))
	if ch, gone := d.expire(t0.Add(5 * time.Second)); len(ch)+len(gone) != 0 {
		t.Fatalf("expired at the TTL: %v", gone)
	}
	// We were cut off from NATS: on our reconnect both count as heard from.
	d.touch(t0.Add(20 * time.Second))
	if _, gone := d.expire(t0.Add(21 * time.Second)); len(gone) != 0 {
		t.Fatalf("expired after our own outage: %v", gone)
	}
	ch, gone := d.expire(t0.Add(25*time.Second + time.Millisecond))
	if len(gone) != 2 || len(ch) != 1 || len(ch[0].Left) != 2 {
		t.Fatalf("gone %v changes %+v", gone, ch)
	}
	if len(d.nodeInfos()) != 0 {
		t.Fatal("dead nodes still listed")
	}
}

func TestDirectoryReportsUpdatesAndMetadata(t *testing.T) {
	d := newDirectory(5 * time.Second)
	t0 := time.Unix(1000, 0)
	d.applyState(RoomState{Node: "b", Epoch: 1, Seq: 1, Room: "r", Participants: people("ann")}, t0)
	upd := people("ann")
	upd[0].Tracks = []protocol.TrackInfo{{Sid: "TR_1", Kind: protocol.KindVideo}}
	ch, _ := d.applyState(RoomState{Node: "b", Epoch: 1, Seq: 2, Room: "r", Participants: upd}, t0)
	if len(ch) != 1 || len(ch[0].Updated) != 1 || len(ch[0].Joined)+len(ch[0].Left) != 0 {
		t.Fatalf("track published: %+v", ch)
	}
	ch, _ = d.applyState(RoomState{Node: "b", Epoch: 1, Seq: 3, Room: "r", Metadata: "m", Participants: upd}, t0)
	if len(ch) != 1 || ch[0].Metadata != "m" {
		t.Fatalf("metadata: %+v", ch)
	}
	if ch, _ = d.applyState(RoomState{Node: "b", Epoch: 1, Seq: 4, Room: "r", Metadata: "m", Participants: upd}, t0); len(ch) != 0 {
		t.Fatalf("no change reported as one: %+v", ch)
	}
}
