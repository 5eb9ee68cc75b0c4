package whip_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/client"
	"github.com/podium-sfu/podium/client/media"
	"github.com/podium-sfu/podium/internal/testlock"
	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/server"
	"github.com/podium-sfu/podium/testmedia"
	"github.com/podium-sfu/podium/whip/whiptest"
)

// The package's tests run real media: one heavy package at a time.
func TestMain(m *testing.M) { testlock.Main(m) }

// Real-time bounds: media on loopback starts within a second or two; a keyframe comes at least
// every 3 s (the fixtures' interval) and at once on a PLI. 20 s leaves room on a loaded machine.
const mediaBound = 20 * time.Second

// publishWHIP publishes the fixtures (VP8 simulcast and Opus) from a pion WHIP client.
func publishWHIP(t *testing.T, n *server.Node, tok string) (*http.Response, string, *webrtc.PeerConnection) {
	t.Helper()
	return whiptest.PublishFixtures(t, n.HTTPURL()+"/whip", tok)
}

// TestWHIPPublishesIntoTheRoom: a WHIP client's simulcast VP8 and Opus become a participant's
// camera (three layers) and microphone; a Go SDK participant decodes a VP8 keyframe and
// receives the audio; DELETE on the session's URL unpublishes both.
func TestWHIPPublishesIntoTheRoom(t *testing.T) {
	n := startNode(t)
	viewer := connectSDK(t, n, "live", "viewer")
	got := &received{}
	var events sync.Mutex
	var unpublished []string
	var readers sync.WaitGroup
	readers.Go(func() { // ends when the client closes
		for rt := range viewer.Tracks() {
			readers.Go(func() { got.read(rt.Track) })
		}
	})
	readers.Go(func() {
		for m := range viewer.Events() {
			if u, ok := m.(*protocol.TrackUnpublished); ok {
				events.Lock()
				unpublished = append(unpublished, u.TrackSid)
				events.Unlock()
			}
		}
	})
	t.Cleanup(func() { viewer.Close(); readers.Wait() })

	tok := token(t, n, "live", "obs", auth.Grant{CanPublish: true})
	resp, body, _ := publishWHIP(t, n, tok)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /whip: %d %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/sdp" {
		t.Errorf("answer's Content-Type %q", ct)
	}
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, "/whip/sessions/") {
		t.Fatalf("Location %q", loc)
	}
	if strings.Contains(body, "a=ice-options:trickle") || !strings.Contains(body, "a=candidate:") {
		t.Errorf("the answer must carry its candidates:\n%s", body)
	}

	err := waitFor(mediaBound, func() bool {
		got.mu.Lock()
		defer got.mu.Unlock()
		return got.keyframes > 0 && got.videoPackets > 50 && got.audioPacks > 50
	})
	got.mu.Lock()
	t.Logf("viewer: %d video packets, %d keyframes (last %dx%d), %d audio packets",
		got.videoPackets, got.keyframes, got.width, got.height, got.audioPacks)
	if err != nil || got.width*9 != got.height*16 {
		got.mu.Unlock()
		t.Fatalf("the viewer did not decode the WHIP client's media: %v", err)
	}
	got.mu.Unlock()

	obs := n.Rooms().Room("live").Participant("obs")
	if obs == nil {
		t.Fatal("no participant obs")
	}
	info := obs.Info()
	var camera, mic protocol.TrackInfo
	for _, tr := range info.Tracks {
		switch tr.Kind {
		case protocol.KindVideo:
			camera = tr
		case protocol.KindAudio:
			mic = tr
		}
	}
	if camera.Source != protocol.SourceCamera || mic.Source != protocol.SourceMicrophone || len(camera.Layers) != 3 {
		t.Fatalf("tracks %+v", info.Tracks)
	}
	for _, tr := range obs.Stats(time.Second).Tracks {
		if tr.DirectPackets == 0 {
			t.Errorf("%s arrived on pion's path only", tr.Info.Kind)
		}
	}
	// All three layers arrive: the allocator can switch between them.
	if err := waitFor(mediaBound, func() bool { return activeLayers(n, "live", "obs") == 3 }); err != nil {
		t.Fatalf("%d simulcast layers arriving, want 3", activeLayers(n, "live", "obs"))
	}

	del, _ := whiptest.Request(t, http.MethodDelete, n.HTTPURL()+loc, "", "", "")
	if del.StatusCode != http.StatusOK {
		t.Fatalf("DELETE: %d", del.StatusCode)
	}
	if err := waitFor(mediaBound, func() bool {
		events.Lock()
		defer events.Unlock()
		return len(unpublished) == 2
	}); err != nil {
		t.Fatalf("the viewer saw %v unpublished, want the camera and microphone", unpublished)
	}
	if p := n.Rooms().Room("live").Participant("obs"); p != nil {
		t.Fatal("obs is still in the room after DELETE")
	}
	if again, _ := whiptest.Request(t, http.MethodDelete, n.HTTPURL()+loc, "", "", ""); again.StatusCode != http.StatusNotFound {
		t.Fatalf("a second DELETE: %d, want 404", again.StatusCode)
	}
}

// activeLayers is the number of layers of identity's camera that carry media.
func activeLayers(n *server.Node, roomName, identity string) int {
	r := n.Rooms().Room(roomName)
	if r == nil {
		return 0
	}
	p := r.Participant(identity)
	if p == nil {
		return 0
	}
	active := 0
	for _, tr := range p.Stats(time.Second).Tracks {
		if tr.Info.Kind != protocol.KindVideo {
			continue
		}
		for _, l := range tr.Layers {
			if l.Active {
				active++
			}
		}
	}
	return active
}

// TestWHIPRefuses: a bad token is 401, a token without canPublish 403, malformed SDP 400, an
// offer over the limit 413, a wrong content type 415, PATCH 405; none of them leaves a
// participant behind.
func TestWHIPRefuses(t *testing.T) {
	n := startNode(t)
	pub := token(t, n, "refuse", "obs", auth.Grant{CanPublish: true})
	viewOnly := token(t, n, "refuse", "obs", auth.Grant{CanSubscribe: true})
	forged := pub[:len(pub)-4] + "AAAA"
	resp, _, _ := publishWHIP(t, n, forged)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("forged token: %d, want 401", resp.StatusCode)
	}
	resp, _, _ = publishWHIP(t, n, "")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", resp.StatusCode)
	}
	resp, _, _ = publishWHIP(t, n, viewOnly)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("token without canPublish: %d, want 403", resp.StatusCode)
	}
	// The last one parses but pion refuses it (no ICE credentials, no fingerprint): the
	// participant has joined by then and must leave again.
	noICE := "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n" +
		"c=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendonly\r\na=rtpmap:96 VP8/90000\r\n"
	for _, bad := range []string{"hello", "v=0\r\nm=video", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n", noICE} {
		if resp, body := whiptest.Request(t, http.MethodPost, n.HTTPURL()+"/whip", pub, "application/sdp", bad); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("SDP %q: %d %s, want 400", bad, resp.StatusCode, body)
		}
	}
	if resp, _ := whiptest.Request(t, http.MethodPost, n.HTTPURL()+"/whip", pub, "application/sdp", strings.Repeat("a", protocol.MaxSDPLen+1)); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("an offer over the limit: %d, want 413", resp.StatusCode)
	}
	if resp, _ := whiptest.Request(t, http.MethodPost, n.HTTPURL()+"/whip", pub, "application/json", "{}"); resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("JSON body: %d, want 415", resp.StatusCode)
	}
	if resp, _ := whiptest.Request(t, http.MethodPatch, n.HTTPURL()+"/whip/sessions/x", pub, "application/trickle-ice-sdpfrag", "a=end-of-candidates"); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("PATCH: %d, want 405", resp.StatusCode)
	}
	if r := n.Rooms().Room("refuse"); r != nil && len(r.Participants(true)) > 0 {
		t.Errorf("participants left behind: %+v", r.Participants(true))
	}
}

// TestWHEPPlaysAParticipant: a pion WHEP client's recvonly offer gets the camera and microphone
// a Go SDK participant publishes from the fixtures; it decodes a VP8 keyframe. A token without
// canSubscribe is 403, a participant who is not there 404.
func TestWHEPPlaysAParticipant(t *testing.T) {
	n := startNode(t)
	gopher := connectSDK(t, n, "show", "gopher")
	ctx := t.Context()
	if _, err := gopher.PublishIVF(ctx, testmedia.VP8(640), client.Camera()); err != nil {
		t.Fatal(err)
	}
	if _, err := gopher.PublishOgg(ctx, testmedia.Opus(), client.Microphone()); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(mediaBound, func() bool { return len(n.Rooms().Room("show").Participant("gopher").Info().Tracks) == 2 }); err != nil {
		t.Fatal("the Go participant's tracks were not published")
	}

	player := func(tok, path string) (*http.Response, string, *received) {
		pc := whiptest.NewPC(t)
		for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
			if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
				t.Fatal(err)
			}
		}
		got := &received{}
		var readers sync.WaitGroup
		pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { readers.Go(func() { got.read(tr) }) })
		t.Cleanup(func() { _ = pc.Close(); readers.Wait() })
		resp, body := whiptest.Post(t, pc, n.HTTPURL()+path, tok)
		return resp, body, got
	}
	if resp, _, _ := player(token(t, n, "show", "nosub", auth.Grant{CanPublish: true}), "/whep/gopher"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("token without canSubscribe: %d, want 403", resp.StatusCode)
	}
	if resp, _, _ := player(token(t, n, "show", "lost", auth.Grant{CanSubscribe: true}), "/whep/nobody"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a participant who is not there: %d, want 404", resp.StatusCode)
	}

	resp, body, got := player(token(t, n, "show", "watcher", auth.Grant{CanSubscribe: true}), "/whep/gopher")
	if resp.StatusCode != http.StatusCreated || !strings.HasPrefix(resp.Header.Get("Location"), "/whep/sessions/") {
		t.Fatalf("POST /whep/gopher: %d %q %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	err := waitFor(mediaBound, func() bool {
		got.mu.Lock()
		defer got.mu.Unlock()
		return got.keyframes > 0 && got.audioPacks > 50
	})
	got.mu.Lock()
	t.Logf("player: %d video packets, %d keyframes (%dx%d), %d audio packets", got.videoPackets, got.keyframes, got.width, got.height, got.audioPacks)
	if err != nil || got.width != 640 || got.height != 360 {
		got.mu.Unlock()
		t.Fatalf("the WHEP player did not decode the camera: %v", err)
	}
	got.mu.Unlock()

	// The room changes (another camera): the player keeps what its m-sections carry, and only that.
	other := connectSDK(t, n, "show", "other")
	if _, err := other.PublishIVF(ctx, testmedia.VP8(320), client.Camera()); err != nil {
		t.Fatal(err)
	}
	watcher := n.Rooms().Room("show").Participant("watcher")
	if err := waitFor(mediaBound, func() bool { return len(n.Rooms().Room("show").Participant("other").Info().Tracks) == 1 }); err != nil {
		t.Fatal("the other camera was not published")
	}
	got.mu.Lock()
	before := got.videoPackets
	got.mu.Unlock()
	if err := waitFor(mediaBound, func() bool {
		got.mu.Lock()
		defer got.mu.Unlock()
		return got.videoPackets > before+50
	}); err != nil {
		t.Fatal("the player stopped receiving when the room changed")
	}
	subs := watcher.Stats(time.Second).Subscriptions
	if len(subs) != 2 {
		t.Fatalf("the player receives %d tracks, want its 2", len(subs))
	}
	// The server answered as the DTLS server, as it does publishers: its own write path sends.
	for _, s := range subs {
		if s.DirectPackets == 0 {
			t.Errorf("%s went out on pion's path only: %+v", s.Kind, s)
		}
	}

	// Its tracks gone, the session ends: a player sees the connection close and may start again.
	_ = gopher.Close()
	select {
	case <-watcher.Done():
	case <-time.After(mediaBound):
		t.Fatal("the WHEP session outlived the tracks it played")
	}
}

// TestWHIPH264: what OBS sends, H.264 and Opus without simulcast, reaches a Go SDK subscriber
// with its keyframes.
func TestWHIPH264(t *testing.T) {
	n := startNode(t)
	viewer := connectSDK(t, n, "obs", "viewer")
	got := &received{}
	var readers sync.WaitGroup
	readers.Go(func() {
		for rt := range viewer.Tracks() {
			readers.Go(func() { got.read(rt.Track) })
		}
	})
	t.Cleanup(func() { viewer.Close(); readers.Wait() })

	pc := whiptest.NewPC(t)
	h264, err := media.NewH264Source(testmedia.H264(), testmedia.FPS)
	if err != nil {
		t.Fatal(err)
	}
	whiptest.AddSender(t, pc, webrtc.RTPCodecTypeVideo, webrtc.MimeTypeH264, 90000, nil, h264)
	opus, err := media.NewOggSource(testmedia.Opus())
	if err != nil {
		t.Fatal(err)
	}
	whiptest.AddSender(t, pc, webrtc.RTPCodecTypeAudio, webrtc.MimeTypeOpus, 48000, nil, opus)
	if resp, body := whiptest.Post(t, pc, n.HTTPURL()+"/whip", token(t, n, "obs", "obs", auth.Grant{CanPublish: true})); resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /whip: %d %s", resp.StatusCode, body)
	}
	err = waitFor(mediaBound, func() bool {
		got.mu.Lock()
		defer got.mu.Unlock()
		return got.keyframes > 0 && got.videoPackets > 50 && got.audioPacks > 50
	})
	got.mu.Lock()
	defer got.mu.Unlock()
	if err != nil {
		t.Fatalf("viewer: %d video packets, %d keyframes, %d audio packets", got.videoPackets, got.keyframes, got.audioPacks)
	}
}

// TestVanishedClientLeaves: a client that closes its connection without DELETE (a closed tab,
// a stopped OBS: both send DTLS close_notify) leaves the room. Bound: the close arrives at once;
// were it lost, the engine's ICE timeouts (5 s disconnected, 10 s more to failed) would end the
// session, with a margin for a loaded machine.
func TestVanishedClientLeaves(t *testing.T) {
	n := startNode(t)
	tok := token(t, n, "gone", "obs", auth.Grant{CanPublish: true})
	resp, body, pc := publishWHIP(t, n, tok)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /whip: %d %s", resp.StatusCode, body)
	}
	obs := n.Rooms().Room("gone").Participant("obs")
	if err := waitFor(mediaBound, func() bool { return len(obs.Info().Tracks) == 2 }); err != nil {
		t.Fatal("the tracks were not published")
	}
	_ = pc.Close()
	select {
	case <-obs.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("the participant of a vanished WHIP client is still there")
	}
}
