package server

import (
	"testing"
	"time"
)

// oneSidedBound is how soon video must decode again: at node1 after node2's verdict, at node2
// after it hears node1 again; the relays need a few round trips on loopback.
const oneSidedBound = 15 * time.Second

// Node2 alone counts node1 dead (it misses node1's heartbeats for longer than the TTL while
// node1 still hears it) and then hears node1 again. Node2 closed its relays with node1 and
// dropped node1's participants; node1's relays with node2 died under it. Both are rebuilt:
// a subscriber on node2 decodes a publisher on node1 again, and one on node1 a publisher on
// node2. (Once media between the two stayed down until a restart.)
func TestClusterOneSidedDeathVerdictHeals(t *testing.T) {
	nodes := startCluster(t, 2)
	alice, bob := connect(t, nodes[0], "one-sided", "alice"), connect(t, nodes[1], "one-sided", "bob")
	atAlice, atBob := collect(alice), collect(bob)
	publishCameraAndMic(t, alice)
	publishCameraAndMic(t, bob)
	decodesFreshVideo(t, "bob (node2) decoding alice (node1)", atBob, alice.Self().Sid, nil, 30*time.Second)
	decodesFreshVideo(t, "alice (node1) decoding bob (node2)", atAlice, bob.Self().Sid, nil, 30*time.Second)
	beforeAlice, beforeBob := atAlice.receivedNow(), atBob.receivedNow()

	deafened := time.Now()
	nodes[1].ClusterNode().Deafen("node1", 5*time.Second) // TTL 2 s, heartbeats every 200 ms
	eventually(t, 5*time.Second, "node2 counting node1 dead", func() bool {
		return len(nodes[1].ClusterNode().Nodes()) == 1
	})
	verdict := time.Now()
	if n := len(nodes[0].ClusterNode().Nodes()); n != 2 {
		t.Fatalf("node1 lists %d nodes; the verdict must be node2's alone", n)
	}
	// Node1's in from node2 died with node2's out: it asks again at once, deafness or not.
	decodesFreshVideo(t, "alice (node1) decoding bob (node2) again", atAlice, bob.Self().Sid, beforeAlice, oneSidedBound)
	aliceBack := time.Since(verdict)
	eventually(t, 10*time.Second, "node2 hearing node1 again", func() bool {
		return len(nodes[1].ClusterNode().Nodes()) == 2
	})
	heard := time.Now()
	decodesFreshVideo(t, "bob (node2) decoding alice (node1) again", atBob, alice.Self().Sid, beforeBob, oneSidedBound)
	t.Logf("node2 counted node1 dead %v after deafening, heard it again %v after the verdict; video decoded "+
		"again at alice %v and at bob %v after the verdict (%v after node2 heard node1 again)",
		verdict.Sub(deafened).Round(10*time.Millisecond), heard.Sub(verdict).Round(10*time.Millisecond),
		aliceBack.Round(10*time.Millisecond), time.Since(verdict).Round(10*time.Millisecond),
		time.Since(heard).Round(10*time.Millisecond))
	if took := time.Since(heard); took > oneSidedBound {
		t.Errorf("video decoded again both ways %v after node2 heard node1 again, want within %v", took, oneSidedBound)
	}
}
