package e2e

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/podium-sfu/podium/server"
	"github.com/podium-sfu/podium/sfu"
)

// The conference app and the admin dashboard as people use them: three Chromium browsers (fake
// camera, a WebAudio tone as microphone) join one room from the lobby at /, and a fourth tab
// runs /admin.

// attendee is one person in the call.
type attendee struct {
	identity, name string
	page           *Page
}

// toneMicrophone makes the page's microphone a WebAudio tone, silent until
// window.testTone.set(true), so that a test decides who speaks. Installed before joining.
const toneMicrophone = `(() => {
	const ctx = new AudioContext();
	const osc = ctx.createOscillator();
	osc.frequency.value = %d;
	const gain = ctx.createGain();
	gain.gain.value = 0;
	const dest = ctx.createMediaStreamDestination();
	osc.connect(gain).connect(dest);
	osc.start();
	window.testTone = { set: (on) => { gain.gain.value = on ? 0.5 : 0; } };
	const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
	navigator.mediaDevices.getUserMedia = async (c) => {
		if (c && c.audio && !c.video) {
			await ctx.resume();
			return new MediaStream([dest.stream.getAudioTracks()[0].clone()]);
		}
		return real(c);
	};
	return true;
})()`

// canvasScreen makes getDisplayMedia return an animated canvas: a slide with a chart.
const canvasScreen = `(() => {
	const c = document.createElement('canvas');
	c.width = 1280; c.height = 720;
	const g = c.getContext('2d');
	const bars = [42, 58, 51, 73, 88, 97];
	let frame = 0;
	const draw = () => {
		frame++;
		g.fillStyle = '#f7f8fb'; g.fillRect(0, 0, 1280, 720);
		g.fillStyle = '#5573ec'; g.fillRect(0, 0, 1280, 10);
		g.fillStyle = '#1b2030'; g.font = 'bold 52px sans-serif'; g.fillText('Q3 roadmap review', 80, 120);
		g.fillStyle = '#6b7386'; g.font = '28px sans-serif'; g.fillText('Weekly active rooms, thousands', 80, 170);
		bars.forEach((v, i) => {
			const h = v * 4 * Math.min(1, frame / 30);
			g.fillStyle = i === bars.length - 1 ? '#3ccf91' : '#6d8cff';
			g.fillRect(110 + i * 180, 640 - h, 110, h);
			g.fillStyle = '#1b2030'; g.font = '24px sans-serif';
			g.fillText(['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun'][i], 140 + i * 180, 680);
		});
		g.fillStyle = '#c5cad6'; g.fillRect(1180, 660 + 8 * Math.sin(frame / 5), 40, 4);
	};
	draw();
	setInterval(draw, 66);
	navigator.mediaDevices.getDisplayMedia = async () => c.captureStream(15);
	return true;
})()`

// videoPlays is true when the page decodes n remote videos, each with framesDecoded rising
// across two stats readings, and plays them in <video> elements.
const videoPlays = `(async () => {
	const read = async () => new Map((await window.podiumStats()).inboundVideo.map((v) => [v.trackSid, v.framesDecoded]));
	const a = await read();
	await new Promise((r) => setTimeout(r, 700));
	const b = await read();
	const rising = [...b].filter(([sid, n]) => n > 5 && n > (a.get(sid) ?? 0));
	const shown = [...document.querySelectorAll('.tile:not(.local):not(.screen) video')]
		.filter((v) => !v.paused && v.readyState >= 2 && v.videoWidth > 0);
	return rising.length >= %[1]d && shown.length === %[1]d;
})()`

// audioPlays is true when n remote audio tracks play in <audio> elements and their samples rise.
const audioPlays = `(async () => {
	const read = async () => new Map((await window.podiumStats()).inboundAudio.map((a) => [a.trackSid, a.totalSamplesReceived]));
	const a = await read();
	await new Promise((r) => setTimeout(r, 500));
	const b = await read();
	const rising = [...b].filter(([sid, n]) => n > (a.get(sid) ?? 0));
	const playing = [...document.querySelectorAll('.tile:not(.local) audio')].filter((el) => !el.paused && el.srcObject);
	return rising.length === %[1]d && playing.length === %[1]d;
})()`

// mediaReport describes the page's received videos and video elements, for failures.
const mediaReport = `(async () => JSON.stringify({
	inbound: (await window.podiumStats()).inboundVideo.map((v) => ({sid: v.trackSid, frames: v.framesDecoded, w: v.frameWidth, packets: v.packetsReceived, lost: v.packetsLost, nacks: v.nackCount})),
	transport: (await window.podiumStats()).transport,
	streams: [...window.podiumApp.room.subscriptions.values()].filter((s) => s.trackInfo.kind === 'video').map((s) => ({sid: s.trackInfo.sid, state: s.streamState})),
	elements: [...document.querySelectorAll('.tile video')].map((v) => ({tile: v.closest('.tile').dataset.key, sid: v.dataset.trackSid, paused: v.paused, ready: v.readyState, w: v.videoWidth})),
}))()`

// startServeNode is startDevNode with the media socket's kernel buffers of `podium serve`
// (--udp-buffer, 4 MiB): every participant's packets share that one socket.
func startServeNode(t *testing.T) *server.Node {
	t.Helper()
	grow := func(pc net.PacketConn) net.PacketConn {
		if b, ok := pc.(interface {
			SetReadBuffer(int) error
			SetWriteBuffer(int) error
		}); ok {
			_ = b.SetReadBuffer(4 << 20) // best effort: the kernel caps it at rmem_max
			_ = b.SetWriteBuffer(4 << 20)
		}
		return pc
	}
	n, err := server.Start(server.Config{TCPPort: -1, TLS: server.TLS{Dev: OverTLS()},
		Media: sfu.Config{LoopbackOnly: true, WrapPacketConn: grow}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = n.Shutdown(ctx)
	})
	return n
}

func TestConferenceApp(t *testing.T) {
	RequireBrowser(t)
	n := startServeNode(t)
	dir := artifactDir(t)
	const roomName = "design-review"
	people := []*attendee{
		{identity: "ada", name: "Ada Lovelace"},
		{identity: "grace", name: "Grace Hopper"},
		{identity: "alan", name: "Alan Turing"},
	}
	browsers := make([]*Browser, len(people))
	for i, a := range people {
		browsers[i] = NewBrowser(t, FakeCamera(t, float64(210+120*i)))
		a.page = browsers[i].NewPage(t, n.HTTPURL()+"/?identity="+a.identity)
		a.page.WaitFor(t, `window.podiumApp?.state.phase === 'lobby'`, 15*time.Second)
		MustEval[bool](t, a.page, fmt.Sprintf(toneMicrophone, 330+110*i))
		a.page.Type(t, `#join-form input[name=room]`, roomName)
		a.page.Type(t, `#join-form input[name=name]`, a.name)
		a.page.Click(t, `#join-form button[type=submit]`)
	}
	for _, a := range people {
		a.page.WaitFor(t, `window.podiumApp.state.phase === 'connected' && window.podiumApp.state.ready`, 30*time.Second)
		if e := MustEval[string](t, a.page, `window.podiumApp.state.publishError ?? ''`); e != "" {
			t.Fatalf("%s could not publish: %s", a.name, e)
		}
	}
	people[0].page.SetViewport(t, 1280, 800, false) // the page whose screenshots are kept
	shoot := func(p *Page, name string) {
		t.Helper()
		path := filepath.Join(dir, name)
		shot := p.Screenshot
		if strings.HasPrefix(name, "admin") {
			shot = p.ScreenshotFull
		}
		if err := shot(path); err != nil {
			t.Errorf("screenshot: %v", err)
			return
		}
		t.Logf("screenshot: %s", path)
	}
	ada, grace, alan := people[0], people[1], people[2]
	others := func(a *attendee) []*attendee {
		var out []*attendee
		for _, o := range people {
			if o != a {
				out = append(out, o)
			}
		}
		return out
	}

	t.Run("three join and see and hear each other", func(t *testing.T) {
		for _, a := range people {
			a.page.WaitFor(t, `document.querySelectorAll('.tile:not(.local):not(.screen)').length === 2`, 20*time.Second)
			if err := a.page.Poll(fmt.Sprintf(videoPlays, 2), 40*time.Second); err != nil {
				t.Logf("%s: %s", a.name, MustEval[string](t, a.page, mediaReport))
				t.Fatalf("%s: videos: %v", a.name, err)
			}
			if err := a.page.Poll(fmt.Sprintf(audioPlays, 2), 20*time.Second); err != nil {
				t.Fatalf("%s: audio: %v", a.name, err)
			}
			names := MustEval[[]string](t, a.page, `[...document.querySelectorAll('.tile:not(.local) .name')].map((e) => e.textContent).sort()`)
			want := []string{}
			for _, o := range others(a) {
				want = append(want, o.name)
			}
			slices.Sort(want)
			if strings.Join(names, ",") != strings.Join(want, ",") {
				t.Errorf("%s shows tiles of %v, want %v", a.name, names, want)
			}
		}
		// The tiles show the received resolution once the stats have been read.
		ada.page.WaitFor(t, `[...document.querySelectorAll('#stage .tile .layer, #filmstrip .tile:not(.local) .layer')].filter((e) => !e.hidden).length === 2`, 10*time.Second)
		shoot(ada.page, "app-conference.png")
	})

	t.Run("chat", func(t *testing.T) {
		const msg = "Shall we start with the roadmap?"
		ada.page.Click(t, `#btn-chat`)
		ada.page.Type(t, `#chat-form input[name=text]`, msg+"\r")
		for _, o := range others(ada) {
			o.page.WaitFor(t, fmt.Sprintf(`[...document.querySelectorAll('.chat-message')].some((li) =>
				li.dataset.sender === %q && li.querySelector('.text').textContent === %q)`, ada.name, msg), 10*time.Second)
			if unread := MustEval[string](t, o.page, `document.getElementById('chat-unread').textContent`); unread != "1" {
				t.Errorf("%s: unread badge %q, want 1", o.name, unread)
			}
		}
		grace.page.Click(t, `#btn-chat`)
		grace.page.Type(t, `#chat-form input[name=text]`, "Yes! Sharing my slides now.\r")
		ada.page.WaitFor(t, `[...document.querySelectorAll('.chat-message')].some((li) => li.dataset.sender === 'Grace Hopper')`, 10*time.Second)
		if own := MustEval[string](t, ada.page, `document.querySelector('.chat-message.self').dataset.sender`); own != "You" {
			t.Errorf("own message shown as from %q", own)
		}
		grace.page.Click(t, `[data-close=chat]`)
	})

	t.Run("screen share on stage", func(t *testing.T) {
		MustEval[bool](t, grace.page, canvasScreen)
		grace.page.Click(t, `#btn-screen`)
		defer func() { // stop sharing even when this subtest fails, so that the next ones start clean
			if MustEval[bool](t, grace.page, `!!window.podiumApp.room.publicationBySource('screen')`) {
				grace.page.Click(t, `#btn-screen`)
			}
			for _, o := range others(grace) {
				o.page.WaitFor(t, `!document.querySelector('.tile.screen')`, 15*time.Second)
			}
		}()
		for _, o := range others(grace) {
			o.page.WaitFor(t, `!!document.querySelector('#stage .tile.screen[data-identity=grace] video')`, 20*time.Second)
			err := o.page.Poll(`(async () => {
				const sid = document.querySelector('#stage .tile.screen video').dataset.trackSid;
				const frames = async () => (await window.podiumStats()).inboundVideo.find((v) => v.trackSid === sid)?.framesDecoded ?? 0;
				const a = await frames();
				await new Promise((r) => setTimeout(r, 500));
				return a > 5 && (await frames()) > a;
			})()`, 30*time.Second)
			if err != nil {
				t.Logf("%s: %s", o.name, MustEval[string](t, o.page, mediaReport))
				t.Fatalf("%s: the screen share does not play: %v", o.name, err)
			}
			if n := MustEval[int](t, o.page, `document.querySelectorAll('#filmstrip .tile:not(.screen)').length`); n != 3 {
				t.Errorf("%s: %d people in the filmstrip, want 3", o.name, n)
			}
		}
		ada.page.WaitFor(t, `!document.querySelector('#stage .tile .layer').hidden`, 10*time.Second)
		shoot(ada.page, "app-screen-share.png")
	})

	t.Run("the speaker takes the stage", func(t *testing.T) {
		ada.page.Click(t, `[data-close=chat]`)
		speak := func(who *attendee) {
			t.Helper()
			for _, a := range people {
				MustEval[bool](t, a.page, fmt.Sprintf(`(window.testTone.set(%v), true)`, a == who))
			}
			start := time.Now()
			for _, o := range others(who) {
				o.page.WaitFor(t, fmt.Sprintf(`!!document.querySelector('#stage .tile.speaking[data-identity=%s]') &&
					document.querySelectorAll('.tile.speaking').length === 1`, who.identity), 30*time.Second)
			}
			t.Logf("%s on stage for the others after %v", who.name, time.Since(start).Round(10*time.Millisecond))
		}
		speak(alan)
		speak(grace)
		// The one who spoke last keeps the stage in silence.
		MustEval[bool](t, grace.page, `(window.testTone.set(false), true)`)
		ada.page.WaitFor(t, `document.querySelectorAll('.tile.speaking').length === 0`, 10*time.Second)
		if !MustEval[bool](t, ada.page, `!!document.querySelector('#stage .tile[data-identity=grace]')`) {
			t.Error("the stage left the last speaker when she fell silent")
		}
	})

	t.Run("phone-sized screen", func(t *testing.T) {
		alan.page.SetViewport(t, 390, 844, true)
		alan.page.WaitFor(t, `(() => {
			const inside = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.left >= 0 && r.right <= innerWidth && r.top >= 0 && r.bottom <= innerHeight; };
			const stage = document.querySelector('#stage .tile');
			return [...document.querySelectorAll('.controls .control:not([hidden])')].every(inside) &&
				!!stage && inside(stage) && stage.getBoundingClientRect().height > 200 &&
				document.querySelectorAll('#filmstrip .tile').length === 2 && [...document.querySelectorAll('#filmstrip .tile')].every(inside) &&
				document.documentElement.scrollWidth <= innerWidth;
		})()`, 10*time.Second)
		shoot(alan.page, "app-phone.png")
		alan.page.Click(t, `#btn-chat`)
		alan.page.WaitFor(t, `(() => { const r = document.querySelector('#chat-form input').getBoundingClientRect();
			return r.width > 200 && r.bottom <= innerHeight; })()`, 5*time.Second)
		shoot(alan.page, "app-phone-chat.png")
		alan.page.Click(t, `#btn-chat`)
	})

	t.Run("admin dashboard", func(t *testing.T) {
		admin := browsers[0].NewPage(t, n.HTTPURL()+"/admin")
		admin.SetViewport(t, 1280, 800, false)
		room := fmt.Sprintf(`document.querySelector('.room[data-room=%q]')`, roomName)
		admin.WaitFor(t, room+` && `+room+`.querySelectorAll('.participant').length === 3`, 15*time.Second)
		for _, a := range people {
			admin.WaitFor(t, fmt.Sprintf(`(() => {
				const p = document.querySelector('.participant[data-identity=%q]');
				return !!p && p.querySelectorAll('.track').length === 2 && p.querySelectorAll('.subscription').length === 4;
			})()`, a.identity), 15*time.Second)
		}
		// Adaptive stream: every page told the server the size it shows each video at.
		admin.WaitFor(t, `window.podiumAdmin.stats.rooms[0].participants.every((p) => p.subscriptions
			.filter((s) => s.kind === 'video')
			.every((s) => s.settings && s.settings.enabled !== false && s.settings.width > 0 && s.settings.height > 0))`, 10*time.Second)
		// Live: bitrates are shown and the charts have drawn a few points.
		admin.WaitFor(t, `document.querySelectorAll('.sparkline polyline').length > 3 &&
			[...document.querySelectorAll('.track .rate')].every((e) => /[1-9]/.test(e.textContent))`, 15*time.Second)
		time.Sleep(8 * time.Second) // more points on the charts
		shoot(admin, "admin-dashboard.png")

		admin.Click(t, `.participant[data-identity=alan] button.kick`)
		admin.Click(t, `.participant[data-identity=alan] button.kick.confirm`)
		alan.page.WaitFor(t, `window.podiumApp.state.leaveReason === 'kicked' && !document.getElementById('lobby').hidden`, 20*time.Second)
		for _, o := range []*attendee{ada, grace} {
			o.page.WaitFor(t, `document.querySelectorAll('.tile:not(.local):not(.screen)').length === 1`, 10*time.Second)
		}
		admin.WaitFor(t, room+`.querySelectorAll('.participant').length === 2`, 10*time.Second)

		// Mute Grace's microphone: her page and Ada's tile of her show it.
		mic := `.participant[data-identity=grace] .track:has(.icon-mic) button.mute`
		admin.Click(t, mic)
		grace.page.WaitFor(t, `window.podiumApp.room.publicationBySource('microphone').muted && document.getElementById('btn-mic').classList.contains('off')`, 10*time.Second)
		ada.page.WaitFor(t, `document.querySelector('.tile[data-identity=grace]:not(.screen)').classList.contains('mic-muted')`, 10*time.Second)
		admin.WaitFor(t, `document.querySelector('`+mic+`').textContent === 'Unmute'`, 5*time.Second)

		// Close the room: everyone still in it is back in the lobby, told why.
		roomCSS := fmt.Sprintf(`.room[data-room=%q]`, roomName)
		admin.Click(t, roomCSS+` button.close-room`)
		admin.Click(t, roomCSS+` button.close-room.confirm`)
		for _, o := range []*attendee{ada, grace} {
			o.page.WaitFor(t, `window.podiumApp.state.leaveReason === 'room_closed' && document.getElementById('lobby-error').textContent.includes('closed')`, 10*time.Second)
		}
		admin.WaitFor(t, `!`+room+` && !document.getElementById('no-rooms').hidden`, 10*time.Second)
	})

	for _, a := range people {
		for _, line := range a.page.Console() {
			if strings.HasPrefix(line, "exception") {
				t.Errorf("%s: uncaught exception: %s", a.name, line)
			}
		}
	}
}
