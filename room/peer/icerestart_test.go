package peer

import (
	"regexp"
	"testing"
)

var ufragLine = regexp.MustCompile(`a=ice-ufrag:(\S+)`)

// TestRestartICENewCredentialsOnce: after RestartICE the next subscriber offer carries new ICE
// credentials, which the client accepts as a restart; the offer after it keeps them.
func TestRestartICENewCredentialsOnce(t *testing.T) {
	p, c := newTestPeer(t, 64<<10), newClient(t)
	ufrag := func() string {
		t.Helper()
		offer, err := p.OfferSubscriber()
		if err != nil {
			t.Fatal(err)
		}
		if err := p.ApplyAnswer(c.answer(t, offer)); err != nil {
			t.Fatal(err)
		}
		m := ufragLine.FindStringSubmatch(offer)
		if m == nil {
			t.Fatalf("no ice-ufrag in the offer:\n%s", offer)
		}
		return m[1]
	}
	first := ufrag()
	if again := ufrag(); again != first {
		t.Fatalf("a plain renegotiation changed the ufrag: %s, then %s", first, again)
	}
	p.RestartICE()
	restarted := ufrag()
	if restarted == first {
		t.Fatalf("the offer after RestartICE kept the ufrag %s", first)
	}
	if after := ufrag(); after != restarted {
		t.Errorf("the offer after the restart's changed the ufrag again: %s, then %s", restarted, after)
	}
}
