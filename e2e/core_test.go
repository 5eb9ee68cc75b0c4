package e2e

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/client"
	"github.com/podium-sfu/podium/room"
	"github.com/podium-sfu/podium/server"
	"github.com/podium-sfu/podium/sfu"
	"github.com/podium-sfu/podium/sfu/codec"
	"github.com/podium-sfu/podium/testmedia"
)

// startDevNode runs `podium serve` in-process in dev mode on free loopback ports, as a newcomer
// would run it, and stops it when the test ends.
func startDevNode(t *testing.T) *server.Node {
	t.Helper()
	return startDevNodeWith(t, nil)
}

// startDevNodeWith is startDevNode with changes to the config (edit may be nil).
func startDevNodeWith(t *testing.T, edit func(*server.Config)) *server.Node {
	t.Helper()
	cfg := server.Config{TCPPort: -1, Media: sfu.Config{LoopbackOnly: true},
		Room: room.Config{BandwidthEstimation: true}}
	cfg.TLS.Dev = OverTLS()
	if edit != nil {
		edit(&cfg)
	}
	n, err := server.Start(cfg)
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

// connectGopher joins room as the Go participant "gopher" (publish, subscribe and data), with a
// token of the dev node's keys; the client closes when the test ends.
func connectGopher(t *testing.T, n *server.Node, room string) *client.Client {
	t.Helper()
	tok, err := auth.Mint(n.DevKey, n.DevSecret, auth.MintOptions{Identity: "gopher", Name: "Gopher",
		Grant: auth.Grant{Room: room, RoomJoin: true, CanPublish: true, CanSubscribe: true, CanPublishData: true}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, n.URL(), tok, sdkOptions(n))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// joinConference opens the node's conference app with the query q (room, name, media flags),
// joins at once and waits until the page is connected and ready.
func joinConference(t *testing.T, b *Browser, n *server.Node, q url.Values) *Page {
	t.Helper()
	return joinConferenceAt(t, b, n.HTTPURL(), q)
}

// joinConferenceAt is joinConference for the server at base (e.g. https://127.0.0.1:7880).
func joinConferenceAt(t *testing.T, b *Browser, base string, q url.Values) *Page {
	t.Helper()
	q.Set("autojoin", "1")
	p := b.NewPage(t, base+"/?"+q.Encode())
	p.WaitFor(t, `window.podiumApp?.state.phase === 'connected' && window.podiumApp.state.ready === true`, 30*time.Second)
	return p
}

// artifactDir is where screenshots go ($PODIUM_ARTIFACTS, else a temp dir).
func artifactDir(t *testing.T) string {
	if d := os.Getenv("PODIUM_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err == nil {
			return d
		}
	}
	return t.TempDir()
}

// remoteMedia records what the Go participant receives from one remote participant.
type remoteMedia struct {
	mu                         sync.Mutex
	videoPackets, audioPackets int
	keyframes, width, height   int
}

func (m *remoteMedia) read(tr *webrtc.TrackRemote) {
	video := tr.Kind() == webrtc.RTPCodecTypeVideo
	buf := make([]byte, 1600)
	var pkt rtp.Packet
	for {
		n, attrs, err := tr.Read(buf)
		if err != nil {
			return
		}
		if attrs != nil && attrs.Get(webrtc.AttributeRtxSsrc) != nil {
			continue // bandwidth probes, not media
		}
		if pkt.Unmarshal(buf[:n]) != nil || len(pkt.Payload) == 0 {
			continue
		}
		m.mu.Lock()
		if video {
			m.videoPackets++
			if w, h, ok := codec.VP8KeyframeSize(pkt.Payload); ok {
				m.keyframes++
				m.width, m.height = w, h
			}
		} else {
			m.audioPackets++
		}
		m.mu.Unlock()
	}
}

// TestBrowserAndGoExchangeMedia: a page served by the node publishes Chromium's fake camera and
// microphone; a Go SDK participant decodes the page's VP8 keyframes and receives its Opus; the
// page decodes the VP8 the Go participant publishes (framesDecoded rising at 640x360).
func TestBrowserAndGoExchangeMedia(t *testing.T) {
	RequireBrowser(t)
	n := startDevNode(t)

	gopher := connectGopher(t, n, "e2e")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := gopher.PublishIVF(ctx, testmedia.VP8(640), client.Camera()); err != nil {
		t.Fatal(err)
	}
	if _, err := gopher.PublishOgg(ctx, testmedia.Opus(), client.Microphone()); err != nil {
		t.Fatal(err)
	}
	fromPage := &remoteMedia{}
	var readers sync.WaitGroup
	readers.Add(1)
	go func() { // hands each received track to a reader; ends when the client closes
		defer readers.Done()
		for rt := range gopher.Tracks() {
			readers.Add(1)
			go func() { defer readers.Done(); fromPage.read(rt.Track) }()
		}
	}()

	b := NewBrowser(t)
	page := joinConference(t, b, n, url.Values{"room": {"e2e"}, "name": {"Chromium"}, "simulcast": {"0"}, "adaptive": {"0"}})

	// The Go participant receives decodable video and audio from the browser.
	deadline := time.Now().Add(30 * time.Second)
	for {
		fromPage.mu.Lock()
		ok := fromPage.keyframes > 0 && fromPage.videoPackets > 100 && fromPage.audioPackets > 100
		w, h := fromPage.width, fromPage.height
		fromPage.mu.Unlock()
		if ok {
			// Chromium may scale its fake 1280x720 camera down at first, never the aspect ratio.
			if w <= 0 || h <= 0 || w*9 != h*16 {
				t.Fatalf("keyframe from the browser decodes as %dx%d, want a 16:9 size", w, h)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("from the browser: %d video packets, %d keyframes, %d audio packets", fromPage.videoPackets, fromPage.keyframes, fromPage.audioPackets)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The page decodes what the Go participant publishes, and keeps decoding.
	sid := gopher.Self().Sid
	video := func(field string) string {
		return `(async () => { const s = await window.podiumStats();
			const v = s.inboundVideo.find(v => v.participantSid === '` + sid + `');
			return v ? v.` + field + ` : 0; })()`
	}
	if err := page.Poll(`(async () => (await `+video("framesDecoded")+`) > 20)()`, 30*time.Second); err != nil {
		t.Fatalf("page decoding the Go participant's video: %v", err)
	}
	if w := MustEval[float64](t, page, video("frameWidth")); w != 640 {
		t.Fatalf("page decodes the Go participant's video at width %v, want 640", w)
	}
	first := MustEval[float64](t, page, video("framesDecoded"))
	time.Sleep(time.Second)
	if second := MustEval[float64](t, page, video("framesDecoded")); second <= first {
		t.Fatalf("framesDecoded stopped rising: %v then %v", first, second)
	}
	audio := MustEval[float64](t, page, `(async () => { const s = await window.podiumStats();
		const a = s.inboundAudio.find(a => a.participantSid === '`+sid+`'); return a ? a.packetsReceived : 0; })()`)
	if audio < 25 {
		t.Fatalf("the page received %v audio packets from the Go participant", audio)
	}
	if err := page.Screenshot(filepath.Join(artifactDir(t), "core-browser-and-go.png")); err != nil {
		t.Logf("screenshot: %v", err)
	}
}
