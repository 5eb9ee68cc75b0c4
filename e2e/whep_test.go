package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/client"
	"github.com/podium-sfu/podium/testmedia"
	"github.com/podium-sfu/podium/whip/whiptest"
)

// whepPage is a plain WHEP player and WHIP publisher: an offer POSTed with fetch, the answer
// set, DELETE on the Location at the end. Nothing of Podium's SDK or protocol. It is served
// from another origin than the node, as a player embedded in some site would be.
const whepPage = `<!doctype html>
<meta charset="utf-8">
<title>WHEP player</title>
<video id="v" autoplay muted playsinline></video>
<script>
async function exchange(pc, url, token) {
	await pc.setLocalDescription(await pc.createOffer());
	await new Promise((done) => {
		if (pc.iceGatheringState === 'complete') return done();
		pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && done());
	});
	const res = await fetch(url, {method: 'POST', body: pc.localDescription.sdp,
		headers: {'Content-Type': 'application/sdp', 'Authorization': 'Bearer ' + token}});
	const body = await res.text();
	if (res.status !== 201) throw new Error('POST ' + url + ': ' + res.status + ' ' + body);
	await pc.setRemoteDescription({type: 'answer', sdp: body});
	return new URL(res.headers.get('Location'), url).href;
}
window.play = async (url, token) => {
	const pc = new RTCPeerConnection();
	pc.addTransceiver('video', {direction: 'recvonly'});
	pc.addTransceiver('audio', {direction: 'recvonly'});
	const video = document.getElementById('v');
	pc.ontrack = (e) => { if (e.track.kind === 'video') video.srcObject = new MediaStream([e.track]); };
	window.player = {pc, session: await exchange(pc, url, token)};
	return window.player.session;
};
window.publish = async (url, token) => {
	const stream = await navigator.mediaDevices.getUserMedia({video: {width: 1280, height: 720}, audio: true});
	const pc = new RTCPeerConnection();
	pc.addTransceiver(stream.getVideoTracks()[0], {direction: 'sendonly', streams: [stream], sendEncodings: [
		{rid: 'q', scaleResolutionDownBy: 4}, {rid: 'h', scaleResolutionDownBy: 2}, {rid: 'f'}]});
	pc.addTransceiver(stream.getAudioTracks()[0], {direction: 'sendonly', streams: [stream]});
	window.publisher = {pc, session: await exchange(pc, url, token)};
	return window.publisher.session;
};
window.end = async (session) => (await fetch(session, {method: 'DELETE'})).status;
window.frames = () => { const v = document.getElementById('v');
	return {width: v.videoWidth, frames: v.getVideoPlaybackQuality().totalVideoFrames, time: v.currentTime}; };
</script>`

// serveWHEPPage serves whepPage on 127.0.0.1 (a secure context: getUserMedia works there).
func serveWHEPPage(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(whepPage))
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/"
}

// frames is what the page's video element shows.
type frames struct {
	Width  int     `json:"width"`
	Frames int     `json:"frames"`
	Time   float64 `json:"time"`
}

// waitPlaying waits until the page's video element has a picture and its frames advance.
func waitPlaying(t *testing.T, page *Page, wantWidth int) {
	t.Helper()
	page.WaitFor(t, `frames().width > 0 && frames().frames > 5`, 30*time.Second)
	first := MustEval[frames](t, page, `frames()`)
	page.WaitFor(t, fmt.Sprintf(`frames().frames > %d && frames().time > %g`, first.Frames+10, first.Time), 10*time.Second)
	if w := MustEval[frames](t, page, `frames()`).Width; wantWidth > 0 && w != wantWidth {
		t.Fatalf("the video plays at width %d, want %d", w, wantWidth)
	}
}

// TestWHEPPlayerInChromium: a page that knows only the WHEP exchange plays the camera a Go SDK
// participant publishes (the video element has a picture and its frames advance), and DELETE
// on the session's URL takes the player out of the room.
func TestWHEPPlayerInChromium(t *testing.T) {
	RequireBrowser(t)
	n := startDevNode(t)
	gopher := connectGopher(t, n, "whep")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := gopher.PublishIVF(ctx, testmedia.VP8(640), client.Camera()); err != nil {
		t.Fatal(err)
	}
	if _, err := gopher.PublishOgg(ctx, testmedia.Opus(), client.Microphone()); err != nil {
		t.Fatal(err)
	}
	if !pollGo(20*time.Second, func() bool { return len(n.Rooms().Room("whep").Participant("gopher").Info().Tracks) == 2 }) {
		t.Fatal("the Go participant's tracks were not published")
	}
	tok, err := auth.Mint(n.DevKey, n.DevSecret, auth.MintOptions{Identity: "player",
		Grant: auth.Grant{Room: "whep", RoomJoin: true, CanSubscribe: true}})
	if err != nil {
		t.Fatal(err)
	}
	page := NewBrowser(t).NewPage(t, serveWHEPPage(t))
	session := MustEval[string](t, page, `play(`+jsString(n.HTTPURL()+"/whep/gopher")+`, `+jsString(tok)+`)`)
	waitPlaying(t, page, 640)
	if n.Rooms().Room("whep").Participant("player") == nil {
		t.Fatal("the player is not a participant of the room")
	}
	if status := MustEval[int](t, page, `end(`+jsString(session)+`)`); status != http.StatusOK {
		t.Fatalf("DELETE from the page: %d", status)
	}
	if n.Rooms().Room("whep").Participant("player") != nil {
		t.Fatal("the player is still in the room after DELETE")
	}
}

// TestWHIPPublisherInChromium: a page publishes Chromium's fake camera (simulcast q/h/f) and
// microphone over WHIP, and another page plays them over WHEP.
func TestWHIPPublisherInChromium(t *testing.T) {
	RequireBrowser(t)
	n := startDevNode(t)
	mint := func(identity string, g auth.Grant) string {
		g.Room, g.RoomJoin = "whip", true
		tok, err := auth.Mint(n.DevKey, n.DevSecret, auth.MintOptions{Identity: identity, Grant: g})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	b := NewBrowser(t)
	url := serveWHEPPage(t)
	publisher := b.NewPage(t, url)
	MustEval[string](t, publisher, `publish(`+jsString(n.HTTPURL()+"/whip")+`, `+jsString(mint("studio", auth.Grant{CanPublish: true}))+`)`)
	if !pollGo(30*time.Second, func() bool {
		p := n.Rooms().Room("whip").Participant("studio")
		return p != nil && len(p.Info().Tracks) == 2
	}) {
		t.Fatal("the page's camera and microphone were not published")
	}
	player := b.NewPage(t, url)
	MustEval[string](t, player, `play(`+jsString(n.HTTPURL()+"/whep")+`, `+jsString(mint("player", auth.Grant{CanSubscribe: true}))+`)`)
	waitPlaying(t, player, 0)
	if layers := cameraLayers(n, "whip", "studio"); len(layers) != 3 {
		t.Fatalf("the camera has %d layers, want 3 (%+v)", len(layers), layers)
	}
	// The allocator chose the player's layer, as for any subscriber.
	layer := ""
	for _, s := range n.Rooms().Room("whip").Participant("player").Stats(time.Second).Subscriptions {
		if s.Kind == "video" {
			layer = s.Layer
		}
	}
	if layer == "" {
		t.Fatal("the player's video has no layer forwarded")
	}
	t.Logf("the player receives layer %s", layer)
}

// TestPionWHIPToChromiumParticipant: a pion WHIP client publishes the VP8 fixtures as three
// simulcast layers and Opus; a Chromium participant of the conference app decodes the video
// (frames rising, at a size of one of the layers) and receives the audio.
func TestPionWHIPToChromiumParticipant(t *testing.T) {
	RequireBrowser(t)
	n := startDevNode(t)
	tok, err := auth.Mint(n.DevKey, n.DevSecret, auth.MintOptions{Identity: "obs",
		Grant: auth.Grant{Room: "whip", RoomJoin: true, CanPublish: true}})
	if err != nil {
		t.Fatal(err)
	}
	if resp, body, _ := whiptest.PublishFixtures(t, n.HTTPURL()+"/whip", tok); resp.StatusCode != http.StatusCreated {
		t.Fatalf("WHIP POST: %d %s", resp.StatusCode, body)
	}
	if !pollGo(20*time.Second, func() bool {
		p := n.Rooms().Room("whip").Participant("obs")
		return p != nil && len(p.Info().Tracks) == 2
	}) {
		t.Fatal("the WHIP client's camera and microphone were not published")
	}
	sid := n.Rooms().Room("whip").Participant("obs").Sid()
	page := joinConference(t, NewBrowser(t), n, url.Values{"room": {"whip"}, "name": {"Viewer"}, "video": {"0"}, "audio": {"0"}})
	stat := func(kind, field string) string {
		return `(async () => { const s = await window.podiumStats();
			const v = s.` + kind + `.find(v => v.participantSid === '` + sid + `');
			return v ? v.` + field + ` : 0; })()`
	}
	if err := page.Poll(`(async () => (await `+stat("inboundVideo", "framesDecoded")+`) > 20)()`, 30*time.Second); err != nil {
		t.Fatalf("the page decoding the WHIP client's video: %v", err)
	}
	if w := MustEval[float64](t, page, stat("inboundVideo", "frameWidth")); w != 320 && w != 640 && w != 1280 {
		t.Fatalf("the page decodes the WHIP video at width %v, not one of the layers' 320, 640, 1280", w)
	}
	first := MustEval[float64](t, page, stat("inboundVideo", "framesDecoded"))
	if err := page.Poll(fmt.Sprintf(`(async () => (await %s) > %v)()`, stat("inboundVideo", "framesDecoded"), first+10), 10*time.Second); err != nil {
		t.Fatalf("framesDecoded stopped at %v: %v", first, err)
	}
	if err := page.Poll(`(async () => (await `+stat("inboundAudio", "packetsReceived")+`) > 25)()`, 10*time.Second); err != nil {
		t.Fatalf("the page receiving the WHIP client's audio: %v", err)
	}
}
