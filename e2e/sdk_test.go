package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/podium-sfu/podium/client"
	"github.com/podium-sfu/podium/room"
	"github.com/podium-sfu/podium/testmedia"
)

// TestSDKQuickstart runs the example of docs/sdk-js.md (/examples/quickstart.html) against a Go
// participant, and through it the SDK's features that the conference test does not reach:
// adaptive stream settings, dynacast, lossy data, and reconnecting after the signalling
// connection drops.
func TestSDKQuickstart(t *testing.T) {
	RequireBrowser(t)
	n := startDevNode(t)
	gopher := connectGopher(t, n, "sdk")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := gopher.PublishIVF(ctx, testmedia.VP8(640), client.Camera()); err != nil {
		t.Fatal(err)
	}
	if _, err := gopher.PublishOgg(ctx, testmedia.Opus(), client.Microphone()); err != nil {
		t.Fatal(err)
	}
	hello := make(chan client.DataPacket, 1)
	go func() { // ends when the client closes its Data channel
		for p := range gopher.Data() {
			if p.Message != nil && p.Message.Topic == "chat" {
				select {
				case hello <- p:
				default:
				}
			}
		}
	}()

	page := NewBrowser(t, FakeCamera(t, 260)).NewPage(t, n.HTTPURL()+"/examples/quickstart.html?room=sdk&identity=web")
	logHas := func(s string) string {
		return `document.getElementById('log').textContent.includes(` + jsString(s) + `)`
	}
	page.WaitFor(t, logHas("publishing camera and microphone")+` && `+logHas("subscribed: gopher camera"), 30*time.Second)
	decoding := `(async () => {
		const frames = async () => (await room.getStats()).inboundVideo.find((v) => v.participantSid === ` + jsString(gopher.Self().Sid) + `)?.framesDecoded ?? 0;
		const a = await frames();
		await new Promise((r) => setTimeout(r, 500));
		return a > 5 && (await frames()) > a;
	})()`
	page.WaitFor(t, decoding, 30*time.Second)

	t.Run("data", func(t *testing.T) {
		select {
		case p := <-hello:
			if p.Message.From != "web" || p.Message.Payload != "hello from the quickstart" || p.Label != client.LabelReliable {
				t.Errorf("gopher got %+v on %s", p.Message, p.Label)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the page's data message did not arrive")
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			if err := gopher.SendData(ctx, client.DataMessage{Topic: "chat", Payload: "hi web"}, false); err != nil {
				t.Fatal(err)
			}
			if ok, _ := Eval[bool](page, logHas("data: chat hi web from gopher (lossy)")); ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the lossy message did not reach the page")
			}
			time.Sleep(200 * time.Millisecond)
		}
	})

	web := func() *room.Participant { return n.Rooms().Room("sdk").Participant("web") }
	videoSettings := func() string {
		for _, s := range web().Stats(time.Second).Subscriptions {
			if s.Kind == "video" && s.Settings != nil {
				on := s.Settings.Enabled == nil || *s.Settings.Enabled
				return fmt.Sprintf("%v %d %d", on, s.Settings.Width, s.Settings.Height)
			}
		}
		return ""
	}
	t.Run("adaptive stream", func(t *testing.T) {
		// The video element is 320 CSS pixels wide at a device pixel ratio of 1.
		waitGo(t, 10*time.Second, "trackSettings 320x180", func() bool { return videoSettings() == "true 320 180" })
		MustEval[bool](t, page, `(document.querySelector('video').style.width = '640px', true)`)
		waitGo(t, 10*time.Second, "trackSettings 640x360", func() bool { return videoSettings() == "true 640 360" })
		MustEval[bool](t, page, `(document.querySelector('video').style.display = 'none', true)`)
		waitGo(t, 10*time.Second, "a hidden video disabled", func() bool { return strings.HasPrefix(videoSettings(), "false") })
		MustEval[bool](t, page, `(document.querySelector('video').style.display = '', true)`)
		waitGo(t, 10*time.Second, "the video enabled again", func() bool { return videoSettings() == "true 640 360" })
	})

	t.Run("dynacast", func(t *testing.T) {
		got := MustEval[string](t, page, `(async () => {
			const pub = room.publicationBySource('camera');
			const seen = new Promise((r) => room.once('subscribedLayers', r));
			room.onSubscribedLayers({ type: 'subscribedLayers', trackSid: pub.sid,
				layers: [{ rid: 'q', active: true }, { rid: 'h', active: true }, { rid: 'f', active: false }] });
			await seen;
			for (let i = 0; i < 50; i++) {
				const enc = pub.sender.getParameters().encodings;
				if (enc.find((e) => e.rid === 'f')?.active === false) return enc.map((e) => e.rid + ':' + e.active).join(',');
				await new Promise((r) => setTimeout(r, 100));
			}
			return 'unchanged';
		})()`)
		if got != "q:true,h:true,f:false" {
			t.Fatalf("encodings after subscribedLayers: %s", got)
		}
	})

	t.Run("reconnect", func(t *testing.T) {
		oldSid := web().Sid()
		// A socket closed with a session the server does not know: the resume is refused
		// (TestBrowserResumesSignalling covers the resume itself) and the page rejoins.
		MustEval[bool](t, page, `(room.signal.resume.token = 'gone', room.signal.ws.close(), true)`)
		page.WaitFor(t, logHas("reconnecting 1")+` && `+logHas("reconnected"), 30*time.Second)
		waitGo(t, 15*time.Second, "the page back in the room with two tracks", func() bool {
			p := web()
			return p != nil && p.Sid() != oldSid && len(p.Info().Tracks) == 2
		})
		page.WaitFor(t, decoding, 30*time.Second)
		if muted := MustEval[bool](t, page, `room.publicationBySource('camera').muted`); muted {
			t.Error("the camera came back muted")
		}
	})
}

// waitGo polls a Go condition every 100 ms.
func waitGo(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`).Replace(s) + "'"
}
