package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/podium-sfu/podium/client"
	"github.com/podium-sfu/podium/testmedia"
)

// publicationLog, run in an SDK page, joins room "pubs" as "web" (adaptive stream off: the test
// sends the sizes) and records every event of every remote track publication in window.pubLog
// as "source:event[:layer]", and the room's own trackMuted and streamState beside them.
const publicationLog = `(async () => {
	window.pubLog = [];
	window.roomLog = [];
	window.room = new podium.Room({ adaptiveStream: false });
	const hook = (pub) => {
		for (const ev of ['muted', 'unmuted', 'subscribed', 'unsubscribed', 'qualityChanged', 'unpublished']) {
			pub.on(ev, (e) => {
				if (e.publication !== pub) pubLog.push('wrong publication');
				let entry = pub.source + ':' + ev;
				if (ev === 'qualityChanged') entry += ':' + (e.layer ?? 'none') + '/' + (e.quality ?? 'none');
				if (ev === 'subscribed' && (e.track !== pub.track || !(e.track instanceof MediaStreamTrack))) entry += ':no-track';
				pubLog.push(entry);
			});
		}
	};
	room.on('trackPublished', ({ publication }) => hook(publication));
	room.on('trackMuted', ({ trackInfo, muted, publication }) => roomLog.push(trackInfo.source + (muted ? ':muted' : ':unmuted') + (publication ? '' : ':no-publication')));
	room.on('streamState', ({ layer, publication }) => roomLog.push('streamState:' + (layer ?? 'none') + (publication ? '' : ':no-publication')));
	const res = await fetch('/api/dev/token?' + new URLSearchParams({ room: 'pubs', identity: 'web' }));
	await room.connect(location.origin, (await res.json()).token);
	window.camPub = () => [...room.participants.values()].flatMap((p) => [...p.trackPublications.values()]).find((p) => p.source === 'camera');
	return true;
})()`

// TestSDKTrackPublicationEvents: a Go participant publishes a three-layer camera and a
// microphone into a room the page is in. Each remote track's RemoteTrackPublication emits
// its own events, in order: subscribed (with the MediaStreamTrack), qualityChanged as the page
// asks for a thumbnail, then a full-size video, then hides it (layer q, f, then none),
// muted/unmuted as the Go side mutes and unmutes the camera, unsubscribed/subscribed as the
// page unsubscribes through the publication and back, and unsubscribed + unpublished when the
// camera is unpublished. The page's own microphone publication emits muted, unmuted and
// unpublished. The room's trackMuted and streamState go on, carrying the publication.
func TestSDKTrackPublicationEvents(t *testing.T) {
	RequireBrowser(t)
	n := startDevNode(t)
	p := sdkPage(t, NewBrowser(t, FakeCamera(t, 200)), n)
	MustEval[bool](t, p, publicationLog)

	gopher := connectGopher(t, n, "pubs")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	q, h, f := testmedia.VP8Layers()
	cam, err := gopher.PublishSimulcastIVF(ctx, q, h, f, client.Camera())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gopher.PublishOgg(ctx, testmedia.Opus(), client.Microphone()); err != nil {
		t.Fatal(err)
	}
	logHas := func(entry string) string {
		return `pubLog.includes(` + jsString(entry) + `)`
	}
	p.WaitFor(t, logHas("camera:subscribed")+" && "+logHas("microphone:subscribed"), 20*time.Second)
	if got := MustEval[string](t, p, `(() => { const c = camPub();
		return [c.kind, c.simulcasted, c.layers.length, c.subscribed, c.track?.kind, c.track === c.subscription.track, c.muted].join(' '); })()`); got != "video true 3 true video true false" {
		t.Fatalf("the camera's publication: kind simulcasted layers subscribed track.kind same-track muted = %s", got)
	}

	// The layer we get, as the video's shown size changes: each change once.
	setSize := func(js string) { MustEval[bool](t, p, `(room.updateTrackSettings(camPub().sid, `+js+`), true)`) }
	setSize(`{ width: 320, height: 180 }`)
	p.WaitFor(t, `camPub().layer === 'q' && `+logHas("camera:qualityChanged:q/low"), 15*time.Second)
	setSize(`{ width: 1280, height: 720 }`)
	p.WaitFor(t, `camPub().quality === 'high' && `+logHas("camera:qualityChanged:f/high"), 15*time.Second)
	setSize(`{ enabled: false }`)
	p.WaitFor(t, `camPub().layer === null && `+logHas("camera:qualityChanged:none/none"), 15*time.Second)
	setSize(`{ width: 1280, height: 720 }`)

	// Muted and unmuted by the publisher.
	if err := gopher.Mute(cam.Sid(), true); err != nil {
		t.Fatal(err)
	}
	p.WaitFor(t, logHas("camera:muted")+` && camPub().muted`, 10*time.Second)
	if err := gopher.Mute(cam.Sid(), false); err != nil {
		t.Fatal(err)
	}
	p.WaitFor(t, logHas("camera:unmuted")+` && !camPub().muted`, 10*time.Second)

	// Unsubscribed and subscribed again, through the publication.
	MustEval[bool](t, p, `(camPub().setSubscribed(false), true)`)
	p.WaitFor(t, logHas("camera:unsubscribed")+` && !camPub().subscribed && camPub().track === null`, 10*time.Second)
	MustEval[bool](t, p, `(camPub().setSubscribed(true), true)`)
	p.WaitFor(t, `pubLog.filter((e) => e.startsWith('camera:subscribed')).length === 2 && camPub().subscribed`, 15*time.Second)

	// Unpublished: the publication leaves the participant.
	MustEval[bool](t, p, `(window.oldCam = camPub(), true)`)
	if err := gopher.Unpublish(cam.Sid()); err != nil {
		t.Fatal(err)
	}
	p.WaitFor(t, logHas("camera:unpublished")+` && camPub() === undefined && !oldCam.subscribed`, 10*time.Second)

	got := MustEval[[]string](t, p, `pubLog.filter((e) => e.startsWith('camera:'))`)
	// The events other than qualityChanged, in order; the layers asked for, in order, among the
	// qualityChanged (the server may forward a layer before the first size arrives, and the
	// layer goes back to none at each unsubscription); and never the same layer twice in a row.
	var others, layers []string
	last := ""
	for _, e := range got {
		l, ok := strings.CutPrefix(e, "camera:qualityChanged:")
		if !ok {
			others = append(others, e)
			continue
		}
		if l == last {
			t.Errorf("qualityChanged to %s twice in a row: %v", l, got)
		}
		last = l
		layers = append(layers, l)
	}
	wantOthers := []string{"camera:subscribed", "camera:muted", "camera:unmuted", "camera:unsubscribed", "camera:subscribed", "camera:unsubscribed", "camera:unpublished"}
	if strings.Join(others, ",") != strings.Join(wantOthers, ",") {
		t.Errorf("the camera publication's events:\n got %v\nwant %v\n(all: %v)", others, wantOthers, got)
	}
	t.Logf("the camera publication's events: %v", got)
	if !isSubsequence([]string{"q/low", "f/high", "none/none"}, layers) {
		t.Errorf("the camera's qualityChanged layers %v lack q/low, f/high, none/none in that order", layers)
	}
	if bad := MustEval[[]string](t, p, `pubLog.filter((e) => e === 'wrong publication' || e.endsWith(':no-track'))`); len(bad) > 0 {
		t.Errorf("events with the wrong publication or track: %v", bad)
	}
	// The room's events still fire, and carry the publication.
	roomLog := MustEval[string](t, p, `roomLog.join(',')`)
	for _, want := range []string{"camera:muted", "camera:unmuted", "streamState:q", "streamState:f"} {
		if !strings.Contains(","+roomLog+",", ","+want+",") {
			t.Errorf("the room's events lack %q: %s", want, roomLog)
		}
	}
	if strings.Contains(roomLog, "no-publication") {
		t.Errorf("room events without their publication: %s", roomLog)
	}

	// Our own publication: muted, unmuted and unpublished.
	MustEval[bool](t, p, `(async () => {
		window.localLog = [];
		const pub = await room.publishMicrophone();
		for (const ev of ['muted', 'unmuted', 'unpublished']) pub.on(ev, (e) => localLog.push(ev + (e.publication === pub ? '' : ':wrong')));
		await room.setMuted(pub.sid, true);
		await room.setMuted(pub.sid, true);
		await room.setMuted(pub.sid, false);
		await room.unpublish(pub.sid);
		return true;
	})()`)
	if got := MustEval[string](t, p, `localLog.join(',')`); got != "muted,unmuted,unpublished" {
		t.Errorf("our microphone publication's events: %s, want muted,unmuted,unpublished", got)
	}
}

// isSubsequence reports whether want appears in got in order, other elements between.
func isSubsequence(want, got []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}
