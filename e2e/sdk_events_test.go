package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/podium-sfu/podium/client"
	"github.com/podium-sfu/podium/server"
	"github.com/podium-sfu/podium/testmedia"
)

// sdkPage opens a page of the node's origin (a secure context: navigator.mediaDevices exists)
// with the SDK as window.podium and window.join(room, identity, opts), which connects a Room.
func sdkPage(t *testing.T, b *Browser, n *server.Node) *Page {
	t.Helper()
	p := b.NewPage(t, n.HTTPURL()+"/podium.js")
	MustEval[bool](t, p, `(async () => {
		window.podium = await import('/podium.js');
		window.join = async (room, identity, opts = {}) => {
			const res = await fetch('/api/dev/token?' + new URLSearchParams({ room, identity }));
			const { token } = await res.json();
			return podium.connect(location.origin, token, opts);
		};
		return true;
	})()`)
	return p
}

// TestSDKLocalTracksBeforeJoining: createLocalTracks opens camera and microphone before any
// room exists; the camera plays in a preview <video>; connect({tracks}) publishes those same
// tracks (simulcast camera with its three layers) and the page sends their frames.
func TestSDKLocalTracksBeforeJoining(t *testing.T) {
	RequireBrowser(t)
	n := startDevNode(t)
	p := sdkPage(t, NewBrowser(t, FakeCamera(t, 200)), n)
	MustEval[bool](t, p, `(async () => {
		window.tracks = await podium.createLocalTracks();
		const v = document.body.appendChild(document.createElement('video'));
		v.muted = true;
		v.srcObject = new MediaStream([tracks.find((t) => t.kind === 'video').track]);
		await v.play();
		window.preview = v;
		return true;
	})()`)
	if got := MustEval[string](t, p, `tracks.map((t) => t.source + ':' + t.track.readyState).join(',')`); got != "camera:live,microphone:live" {
		t.Fatalf("createLocalTracks gave %s", got)
	}
	p.WaitFor(t, fmt.Sprintf(`preview.videoWidth === %d && preview.currentTime > 0.2`, fakeCamWidth), 15*time.Second)

	MustEval[bool](t, p, `(async () => { window.room = await join('pre', 'web', { tracks }); return true; })()`)
	// The server lists a track once its media arrives.
	kinds := func() string {
		var out []string
		for _, tr := range n.Rooms().Room("pre").Participant("web").Info().Tracks {
			out = append(out, fmt.Sprintf("%s/%d layers", tr.Source, len(tr.Layers)))
		}
		slices.Sort(out)
		return fmt.Sprint(out)
	}
	const want = "[camera/3 layers microphone/0 layers]"
	if !pollGo(15*time.Second, func() bool { return kinds() == want }) {
		t.Fatalf("the server has tracks %s, want %s", kinds(), want)
	}
	same := MustEval[bool](t, p, `room.publicationBySource('camera').track === tracks[0].track &&
		room.publicationBySource('microphone').track === tracks[1].track`)
	if !same {
		t.Error("connect published other tracks than createLocalTracks gave")
	}
	// The published camera really sends: the top layer's frames rise.
	p.WaitFor(t, `(async () => {
		const sent = async () => (await room.getStats()).outbound.reduce((n, o) => n + (o.framesSent ?? 0), 0);
		const a = await sent();
		await new Promise((r) => setTimeout(r, 500));
		return a > 0 && (await sent()) > a;
	})()`, 20*time.Second)
	// The preview goes on from the same track.
	if !MustEval[bool](t, p, `(async () => { const a = preview.currentTime; await new Promise((r) => setTimeout(r, 300)); return preview.currentTime > a; })()`) {
		t.Error("the preview stopped once the track was published")
	}
}

// TestSDKDevicesChanged: navigator.mediaDevices' devicechange reaches the Room as
// devicesChanged with the device lists, and no longer once the room is left.
func TestSDKDevicesChanged(t *testing.T) {
	RequireBrowser(t)
	n := startDevNode(t)
	p := sdkPage(t, NewBrowser(t, FakeCamera(t, 200)), n)
	MustEval[bool](t, p, `(async () => {
		window.room = await join('devices', 'web');
		window.seen = [];
		room.on('devicesChanged', (d) => seen.push(d.cameras.length + '/' + d.microphones.length));
		// What the browser fires when a device is plugged in or out.
		navigator.mediaDevices.dispatchEvent(new Event('devicechange'));
		return true;
	})()`)
	p.WaitFor(t, `seen.length === 1`, 10*time.Second)
	if got := MustEval[string](t, p, `seen[0]`); got == "0/0" {
		t.Errorf("devicesChanged lists no device: %s", got)
	}
	MustEval[bool](t, p, `(room.leave(), navigator.mediaDevices.dispatchEvent(new Event('devicechange')), true)`)
	time.Sleep(500 * time.Millisecond)
	if got := MustEval[int](t, p, `seen.length`); got != 1 {
		t.Errorf("%d devicesChanged events, want 1 (none after leaving)", got)
	}
}

// TestSDKDominantSpeakerChanged: two pages with WebAudio microphones; one speaks, then the
// other. The listening page gets dominantSpeakerChanged once per change, naming the speaker
// and the one before, though activeSpeakers arrives many times in between.
func TestSDKDominantSpeakerChanged(t *testing.T) {
	RequireBrowser(t)
	n := startDevNode(t)
	var pages []*Page
	var sids []string
	for i, who := range []string{"ann", "bo"} {
		p := sdkPage(t, NewBrowser(t, FakeCamera(t, float64(40+100*i))), n)
		MustEval[bool](t, p, fmt.Sprintf(toneMicrophone, 300+150*i))
		MustEval[bool](t, p, `(async () => {
			window.room = await join('dominant', `+jsString(who)+`);
			window.changes = [];
			window.speakerEvents = 0;
			room.on('activeSpeakers', () => speakerEvents++);
			room.on('dominantSpeakerChanged', (e) => changes.push((e.previousSid ?? '-') + '>' + (e.sid ?? '-') + ':' + (e.participant?.identity ?? '-')));
			await room.publishMicrophone();
			return true;
		})()`)
		pages = append(pages, p)
		sids = append(sids, MustEval[string](t, p, `room.localParticipant.sid`))
	}
	listener := pages[1]
	for i := range pages {
		for j, p := range pages {
			MustEval[bool](t, p, fmt.Sprintf(`(window.testTone.set(%v), true)`, i == j))
		}
		listener.WaitFor(t, `changes.at(-1)?.includes('>`+sids[i]+`:')`, 15*time.Second)
	}
	changes := MustEval[[]string](t, listener, `changes`)
	want := fmt.Sprintf("%s>%s:bo", sids[0], sids[1])
	if changes[len(changes)-1] != want {
		t.Errorf("last change %q, want %q (all: %v)", changes[len(changes)-1], want, changes)
	}
	for i := 1; i < len(changes); i++ {
		if changes[i] == changes[i-1] {
			t.Errorf("the same change twice in a row: %v", changes)
		}
	}
	t.Logf("%d dominantSpeakerChanged for %d activeSpeakers: %v", len(changes), MustEval[int](t, listener, `speakerEvents`), changes)
}

// TestSDKStartAudio: under Chromium's real autoplay policy (a user gesture required), a remote
// microphone attached to an <audio> does not play: the Room says canPlaybackAudio false with
// audioPlaybackChanged. A click that calls startAudio() makes it play.
func TestSDKStartAudio(t *testing.T) {
	RequireBrowser(t)
	n := startDevNode(t)
	gopher := connectGopher(t, n, "autoplay")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := gopher.PublishOgg(ctx, testmedia.Opus(), client.Microphone()); err != nil {
		t.Fatal(err)
	}
	b := NewBrowser(t, FakeCamera(t, 200), chromedp.Flag("autoplay-policy", "user-gesture-required"))
	p := sdkPage(t, b, n)
	MustEval[bool](t, p, `(async () => {
		window.room = new podium.Room();
		window.playback = [];
		room.on('audioPlaybackChanged', (e) => playback.push(e.canPlayback));
		room.on('trackSubscribed', (s) => {
			if (s.track.kind === 'audio') window.audio = room.attach(s.trackInfo.sid, document.body.appendChild(document.createElement('audio')));
		});
		const res = await fetch('/api/dev/token?' + new URLSearchParams({ room: 'autoplay', identity: 'web' }));
		await room.connect(location.origin, (await res.json()).token);
		const button = document.body.appendChild(document.createElement('button'));
		button.id = 'start';
		button.textContent = 'Start audio';
		button.onclick = () => room.startAudio().then(() => playback.push('started'), (e) => playback.push('failed ' + e.name));
		return true;
	})()`)
	p.WaitFor(t, `!!window.audio && playback.length === 1`, 20*time.Second)
	if got := MustEval[string](t, p, `JSON.stringify([room.canPlaybackAudio, audio.paused, playback])`); got != `[false,true,[false]]` {
		t.Fatalf("before the click: [canPlaybackAudio, paused, events] = %s", got)
	}
	p.Click(t, "#start")
	p.WaitFor(t, `playback.length === 3`, 10*time.Second)
	if got := MustEval[string](t, p, `JSON.stringify([room.canPlaybackAudio, audio.paused, playback])`); got != `[true,false,[false,true,"started"]]` {
		t.Fatalf("after the click: [canPlaybackAudio, paused, events] = %s", got)
	}
	p.WaitFor(t, `(async () => { const a = audio.currentTime; await new Promise((r) => setTimeout(r, 300)); return audio.currentTime > a; })()`, 10*time.Second)
}
