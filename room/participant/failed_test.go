package participant

import (
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// A participant whose client can resume is not closed when its connection fails: only a
// connection still failed after the grace closes it (issue 18). Without a grace it goes at once.
func TestFailedConnectionWaitsOutTheGrace(t *testing.T) {
	tr := newTestRoom(t)
	ann := tr.join(t, "ann", publisher)
	ann.failedGrace = 100 * time.Millisecond
	failed, connected := int32(webrtc.PeerConnectionStateFailed), int32(webrtc.PeerConnectionStateConnected)

	ann.peer.State.Store(failed)
	ann.connectionFailed()
	ann.peer.State.Store(connected) // an ICE restart in time
	select {
	case <-ann.Done():
		t.Fatal("closed within the grace")
	case <-time.After(300 * time.Millisecond): // the grace's timer has run and found it connected
	}

	ann.peer.State.Store(failed)
	ann.connectionFailed()
	select {
	case <-ann.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("still in the room after the grace, its connection failed")
	}

	bo := tr.join(t, "bo", publisher) // no grace: a client that cannot resume
	bo.peer.State.Store(failed)
	bo.connectionFailed()
	select {
	case <-bo.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("a failed connection without a grace did not close the participant")
	}
}
