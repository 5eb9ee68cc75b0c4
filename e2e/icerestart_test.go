package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/podium-sfu/podium/client"
	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/testmedia"
)

// TestBrowserRestartsICE: when the browser says its network changed (the `online` event), the
// SDK restarts ICE on both connections (an iceRestart offer for the publisher connection,
// `iceRestart` for the subscriber one, which the server re-offers) instead of rejoining: both
// connections pair again under new credentials, the page goes on decoding the Go participant's
// video and sending its own, on the same participant, and the Go participant sees no leave.
func TestBrowserRestartsICE(t *testing.T) {
	RequireBrowser(t)
	n := startDevNode(t)
	gopher := connectGopher(t, n, "roam")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := gopher.PublishIVF(ctx, testmedia.VP8(640), client.Camera()); err != nil {
		t.Fatal(err)
	}
	left := make(chan string, 4)
	go func() { // ends when the client closes its Events channel
		for m := range gopher.Events() {
			if l, ok := m.(*protocol.ParticipantLeft); ok {
				left <- l.Sid
			}
		}
	}()
	page := NewBrowser(t, FakeCamera(t, 260)).NewPage(t, n.HTTPURL()+"/examples/quickstart.html?room=roam&identity=web")
	decoding := `(async () => {
		const frames = async () => (await room.getStats()).inboundVideo.find((v) => v.participantSid === ` + jsString(gopher.Self().Sid) + `)?.framesDecoded ?? 0;
		const a = await frames();
		await new Promise((r) => setTimeout(r, 500));
		return a > 5 && (await frames()) > a;
	})()`
	sending := `(async () => {
		const sent = async () => { let b = 0; (await room.publisherPC.getStats()).forEach((s) => { if (s.type === 'outbound-rtp' && s.kind === 'video') b += s.bytesSent; }); return b; };
		const a = await sent();
		await new Promise((r) => setTimeout(r, 500));
		return (await sent()) > a;
	})()`
	page.WaitFor(t, decoding+` && `+sending, 30*time.Second)
	web := func() string { return n.Rooms().Room("roam").Participant("web").Sid() }
	sid := web()
	// The ICE credentials of each connection, local and remote.
	const creds = `[room.publisherPC, room.subscriberPC].map((pc) => [pc.localDescription, pc.remoteDescription]
		.map((d) => /a=ice-ufrag:(\S+)/.exec(d.sdp)[1]).join('/')).join(' ')`
	before := MustEval[string](t, page, creds)

	MustEval[bool](t, page, `(window.dispatchEvent(new Event('online')), true)`)
	page.WaitFor(t, `(() => {
		const now = `+creds+`.split(' '), was = `+jsString(before)+`.split(' ');
		return now.every((c, i) => c.split('/').every((u, j) => u !== was[i].split('/')[j])) &&
			room.publisherPC.connectionState === 'connected' && room.subscriberPC.connectionState === 'connected';
	})()`, 15*time.Second)
	if a := MustEval[int](t, page, `room.ice.attempts`); a < 1 {
		t.Errorf("%d restarts counted", a)
	}
	page.WaitFor(t, decoding+` && `+sending, 15*time.Second)
	if got := web(); got != sid {
		t.Errorf("the page is %s after the restart, was %s: it rejoined", got, sid)
	}
	select {
	case s := <-left:
		t.Errorf("gopher saw %s leave", s)
	default:
	}
	if st := MustEval[string](t, page, `room.state`); st != "connected" {
		t.Errorf("room state %q", st)
	}
}
