package e2e

import (
	"testing"
	"time"
)

// resumeWatch runs in the watching page: every 50 ms it reads how many frames of ann's video it
// decoded and keeps the longest time without a new one (the page's own clock, so a slow test
// driver does not count), and it notes every leave and every track of ann's that comes or goes.
const resumeWatch = `(() => {
	const sub = () => [...room.subscriptions.values()].find((s) => s.participant.identity === 'ann' && s.trackInfo.kind === 'video');
	const w = window.watch = { frames: 0, at: performance.now(), maxGap: 0, gaps: [], left: [], tracks: [] };
	room.on('participantLeft', ({ participant }) => w.left.push(participant.identity));
	for (const ev of ['trackSubscribed', 'trackUnsubscribed', 'trackPublished', 'trackUnpublished']) {
		room.on(ev, ({ participant, trackInfo }) => participant?.identity === 'ann' && w.tracks.push(ev + ' ' + trackInfo?.kind));
	}
	let busy = false;
	w.timer = setInterval(async () => {
		const s = sub();
		if (busy || !s) return;
		busy = true;
		let frames = 0;
		(await s.receiver.getStats()).forEach((r) => { if (r.type === 'inbound-rtp') frames = r.framesDecoded ?? 0; });
		busy = false;
		const now = performance.now();
		if (frames > w.frames) {
			w.maxGap = Math.max(w.maxGap, now - w.at);
			if (now - w.at > 300) w.gaps.push([Date.now(), Math.round(now - w.at)]); // for the log
			w.frames = frames;
			w.at = now;
		}
	}, 50);
	return true;
})()`

// TestBrowserResumesSignalling: the server drops a page's WebSocket mid-call, as a lost network
// would (the DropSignalling drill). podium.js resumes the session on a new socket within 5 s:
// the same participant, a request made meanwhile reaches the room, and the other page keeps decoding
// its video without a gap over a second, sees no leave and no track of it come or go.
func TestBrowserResumesSignalling(t *testing.T) {
	RequireBrowser(t)
	n := startDevNode(t)
	b := NewBrowser(t, FakeCamera(t, 40))
	page := func(identity string) *Page {
		return b.NewPage(t, n.HTTPURL()+"/examples/quickstart.html?room=resume&identity="+identity)
	}
	ann, bo := page("ann"), page("bo")
	const decodingAnn = `(() => { const s = [...room.subscriptions.values()].find((s) => s.participant.identity === 'ann' && s.trackInfo.kind === 'video');
		return !!s && document.getElementById('track-' + s.trackInfo.sid)?.videoWidth > 0; })()`
	bo.WaitFor(t, decodingAnn+` && [...room.subscriptions.values()].filter((s) => s.participant.identity === 'ann').length === 2`, 30*time.Second)
	MustEval[bool](t, ann, `(() => {
		window.events = [];
		for (const ev of ['resuming', 'resumed', 'reconnecting', 'reconnected', 'participantLeft']) room.on(ev, (d) => events.push([ev, Date.now(), d?.resent]));
		return true;
	})()`)
	MustEval[bool](t, bo, resumeWatch)
	bo.WaitFor(t, `watch.frames > 20`, 10*time.Second)
	sid := n.Rooms().Room("resume").Participant("ann").Sid()

	dropped := time.Now()
	if !n.DropSignalling("resume", "ann") {
		t.Fatal("ann had no resumable signalling to drop")
	}
	// A request made as the socket goes is kept and sent again on the new one.
	MustEval[bool](t, ann, `(window.meta = room.updateMetadata({ metadata: 'back' }), true)`)
	// On failure the checks go on, to show what a rejoin instead looks like at bo.
	if err := ann.Poll(`events.some(([ev]) => ev === 'resumed')`, 10*time.Second); err != nil {
		t.Errorf("ann did not resume: %v; events %s", err, MustEval[string](t, ann, `JSON.stringify(events)`))
		ann.WaitFor(t, `room.state === 'connected'`, 10*time.Second)
	} else {
		r := MustEval[[]float64](t, ann, `events.find(([ev]) => ev === 'resumed').slice(1)`)
		took := time.UnixMilli(int64(r[0])).Sub(dropped)
		t.Logf("resumed %v after the drop, %.0f frames sent again", took.Round(time.Millisecond), r[1])
		if took > 5*time.Second {
			t.Errorf("the resume took %v, want at most 5 s", took)
		}
	}
	// Back on signalling: the request went through the room and bo heard of it.
	MustEval[bool](t, ann, `window.meta.then(() => true)`)
	bo.WaitFor(t, `[...room.participants.values()].some((p) => p.identity === 'ann' && p.metadata === 'back')`, 5*time.Second)
	time.Sleep(time.Second) // the video goes on a while after the resume too

	if got := n.Rooms().Room("resume").Participant("ann").Sid(); got != sid {
		t.Errorf("ann is participant %s after the drop, was %s: she rejoined", got, sid)
	}
	if ev := MustEval[string](t, ann, `JSON.stringify(events.map(([ev]) => ev).filter((ev) => ev !== 'resuming'))`); ev != `["resumed"]` {
		t.Errorf("ann's events after the drop: %s, want only resumed", ev)
	}
	if st := MustEval[string](t, ann, `room.state + ' ' + room.signal.resume.count + ' ' + (room.signal.ws.readyState === WebSocket.OPEN)`); st != "connected 1 true" {
		t.Errorf("ann's state, resumes and socket open: %s", st)
	}
	type watch struct {
		Frames int        `json:"frames"`
		MaxGap float64    `json:"maxGap"`
		Gaps   [][2]int64 `json:"gaps"`
		Left   []string   `json:"left"`
		Tracks []string   `json:"tracks"`
	}
	w := MustEval[watch](t, bo, `(clearInterval(watch.timer), watch)`)
	t.Logf("bo decoded %d frames of ann's video, the longest gap %.0f ms", w.Frames, w.MaxGap)
	for _, g := range w.Gaps {
		t.Logf("a gap of %d ms ending %v after the drop", g[1], time.UnixMilli(g[0]).Sub(dropped).Round(time.Millisecond))
	}
	if w.MaxGap > 1000 {
		t.Errorf("ann's video froze at bo for %.0f ms", w.MaxGap)
	}
	if len(w.Left) > 0 {
		t.Errorf("bo saw %v leave", w.Left)
	}
	if len(w.Tracks) > 0 {
		t.Errorf("bo saw ann's tracks change: %v", w.Tracks)
	}
}

// TestBrowserResumeRefusedRejoins: when the server refuses the resume, with an `error` instead
// of `resumed` (a seq it never sent) or with HTTP 409 (a token it does not know), podium.js
// rejoins at once instead of trying until the window is over.
func TestBrowserResumeRefusedRejoins(t *testing.T) {
	RequireBrowser(t)
	n := startDevNode(t)
	ann := NewBrowser(t, FakeCamera(t, 200)).NewPage(t, n.HTTPURL()+"/examples/quickstart.html?room=refused&identity=ann")
	ann.WaitFor(t, `room.state === 'connected' && room.localParticipant.publications.size === 2`, 30*time.Second)
	for _, c := range []struct{ name, spoil string }{
		{"a seq never sent", `room.signal.resume.lastSeq = 1e9`},
		{"an unknown token", `room.signal.resume.token = 'nope'`},
	} {
		sid := n.Rooms().Room("refused").Participant("ann").Sid()
		MustEval[bool](t, ann, `(() => {
			window.events = [];
			for (const ev of ['resuming', 'resumed', 'reconnecting', 'reconnected']) room.once(ev, () => events.push(ev));
			`+c.spoil+`;
			return true;
		})()`)
		start := time.Now()
		if !n.DropSignalling("refused", "ann") {
			t.Fatalf("%s: ann had no resumable signalling to drop", c.name)
		}
		if err := ann.Poll(`events.includes('reconnected') && room.state === 'connected'`, 10*time.Second); err != nil {
			t.Fatalf("%s: ann did not rejoin: %v; events %v", c.name, err, MustEval[[]string](t, ann, `events`))
		}
		t.Logf("%s: rejoined after %v", c.name, time.Since(start).Round(time.Millisecond))
		if ev := MustEval[[]string](t, ann, `events`); len(ev) != 3 || ev[0] != "resuming" || ev[2] != "reconnected" {
			t.Errorf("%s: events %v, want resuming, reconnecting, reconnected", c.name, ev)
		}
		if got := n.Rooms().Room("refused").Participant("ann").Sid(); got == sid {
			t.Errorf("%s: still participant %s: not a rejoin", c.name, got)
		}
	}
}
