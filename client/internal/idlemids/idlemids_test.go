package idlemids

import (
	"reflect"
	"strings"
	"testing"
)

// An m-section inactive in two offers in a row is applied as sendonly and answered inactive;
// the others are untouched.
func TestIdleMidsRewrite(t *testing.T) {
	sdp := strings.Join([]string{
		"v=0", "s=-",
		"m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "a=mid:0", "a=sendrecv",
		"m=audio 9 UDP/TLS/RTP/SAVPF 111", "a=mid:1", "a=inactive",
		"m=video 9 UDP/TLS/RTP/SAVPF 96", "a=mid:2", "a=ssrc:1 msid:p t", "a=sendonly",
		"m=video 9 UDP/TLS/RTP/SAVPF 96", "a=mid:3", "a=inactive", "",
	}, "\r\n")
	idle := inactiveMids(sdp)
	if want := map[string]bool{"1": true, "3": true}; !reflect.DeepEqual(idle, want) {
		t.Fatalf("inactiveMids = %v, want %v", idle, want)
	}
	got := rewriteDirection(sdp, map[string]bool{"3": true}, "a=inactive", "a=sendonly")
	if inactiveMids(got)["3"] || !inactiveMids(got)["1"] || strings.Count(got, "a=sendonly") != 2 {
		t.Errorf("mid 3 should be sendonly and mid 1 still inactive:\n%s", got)
	}
	if back := rewriteDirection(got, map[string]bool{"3": true}, "a=sendonly", "a=inactive"); back != sdp {
		t.Errorf("rewriting back gave\n%s\nwant\n%s", back, sdp)
	}
}

// The tracker: only an m-section inactive in the previous offer too is rewritten, and its
// answer says inactive again.
func TestTrackerOffers(t *testing.T) {
	offer := func(dir string) string {
		return strings.Join([]string{"v=0", "m=video 9 UDP/TLS/RTP/SAVPF 96", "a=mid:1", dir, ""}, "\r\n")
	}
	var tr Tracker
	for i, tc := range []struct{ dir, apply, answer string }{
		{"a=sendonly", "a=sendonly", "a=recvonly"},
		{"a=inactive", "a=inactive", "a=inactive"}, // idle once: pion still replaces its receiver
		{"a=inactive", "a=sendonly", "a=inactive"}, // idle twice: applied with a track, answered idle
		{"a=sendonly", "a=sendonly", "a=recvonly"}, // in use again
	} {
		apply, answer := tr.Offer(offer(tc.dir))
		if apply != offer(tc.apply) {
			t.Errorf("offer %d (%s): applied %q", i, tc.dir, apply)
		}
		pionAnswer := offer(map[string]string{"a=sendonly": "a=recvonly", "a=inactive": "a=inactive"}[tc.apply])
		if got := answer(pionAnswer); got != offer(tc.answer) {
			t.Errorf("offer %d (%s): answered %q", i, tc.dir, got)
		}
	}
}
