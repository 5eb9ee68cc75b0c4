package e2e

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/podium-sfu/podium/web"
)

// serveWeb serves the embedded web app on 127.0.0.1 (a secure context, so navigator.mediaDevices
// exists) with no Podium server behind it.
func serveWeb(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.FileServerFS(web.FS()))
	t.Cleanup(srv.Close)
	return srv
}

// TestBrowserHarness checks that the harness starts Chromium with flags that make it a usable
// WebRTC client: the app's lobby renders, the fake camera gives 1280x720, the SDK loads, and a
// call between two peer connections in one page decodes video and plays audio.
func TestBrowserHarness(t *testing.T) {
	srv := serveWeb(t)
	b := NewBrowser(t)
	// Before the lobby opens, on a page that captures nothing: the lobby's camera preview holds
	// the browser's one fake device at the preview's size.
	t.Run("fake camera", func(t *testing.T) {
		checkFakeMedia(t, b.NewPage(t, srv.URL+"/base.css"))
	})
	p := b.NewPage(t, srv.URL+"/")

	t.Run("lobby", func(t *testing.T) {
		p.WaitFor(t, `document.readyState === 'complete' && window.podiumApp?.state.phase === 'lobby'`, 10*time.Second)
		visible := MustEval[bool](t, p, `(() => {
			const form = document.getElementById('join-form');
			const r = form.getBoundingClientRect();
			return !document.getElementById('lobby').hidden && document.getElementById('conference').hidden &&
				r.width > 0 && r.height > 0 && !!form.elements.room && !!form.elements.name &&
				!!form.querySelector('button[type=submit]');
		})()`)
		if !visible {
			t.Fatal("the lobby form is not shown")
		}
	})

	t.Run("sdk imports", func(t *testing.T) {
		exports := MustEval[[]string](t, p, `import('/podium.js').then((m) => Object.keys(m))`)
		for _, name := range []string{"connect", "Room", "collectStats", "SIMULCAST_ENCODINGS"} {
			if !slices.Contains(exports, name) {
				t.Errorf("podium.js exports %v, missing %s", exports, name)
			}
		}
	})

	t.Run("loopback call", func(t *testing.T) {
		// Two peer connections in the page: real ICE on loopback, the fake devices' media
		// decoded (at whatever size the bandwidth estimate allows), and remote audio played by an <audio autoplay> element without a gesture.
		MustEval[bool](t, p, `(async () => {
			const a = new RTCPeerConnection(), b = new RTCPeerConnection();
			a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
			b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
			b.ontrack = (e) => {
				const el = document.createElement(e.track.kind);
				el.autoplay = true;
				el.srcObject = new MediaStream([e.track]);
				document.body.append(el);
			};
			const s = await navigator.mediaDevices.getUserMedia({video: {width: 1280, height: 720}, audio: true});
			s.getTracks().forEach((t) => a.addTrack(t, s));
			await a.setLocalDescription();
			await b.setRemoteDescription(a.localDescription);
			await b.setLocalDescription();
			await a.setRemoteDescription(b.localDescription);
			window.selftestPC = b;
			return true;
		})()`)
		err := p.Poll(`window.selftestPC.getStats().then((r) => {
			let frames = 0, samples = 0;
			r.forEach((s) => {
				if (s.type !== 'inbound-rtp') return;
				if (s.kind === 'video') frames = s.framesDecoded;
				if (s.kind === 'audio') samples = s.totalSamplesReceived;
			});
			return frames > 10 && samples > 48000;
		})`, 20*time.Second)
		if err != nil {
			t.Log(MustEval[string](t, p, `window.selftestPC.getStats().then((r) => JSON.stringify([...r.values()].filter((s) => s.type === 'inbound-rtp' || s.type === 'candidate-pair')))`))
			t.Fatal(err)
		}
	})

	t.Run("eval errors", func(t *testing.T) {
		if _, err := Eval[int](p, `Promise.reject(new Error('boom'))`); err == nil || !strings.Contains(err.Error(), "boom") {
			t.Errorf("a rejected promise gave %v, want an error that says boom", err)
		}
		if err := p.Poll(`false`, 300*time.Millisecond); err == nil {
			t.Error("Poll of false succeeded")
		}
	})

	t.Run("screenshot", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "page.png")
		if err := p.Screenshot(path); err != nil {
			t.Fatal(err)
		}
		data := readFile(t, path)
		if !bytes.HasPrefix(data, []byte("\x89PNG")) {
			t.Fatalf("%s is not a PNG", path)
		}
	})

	for _, line := range p.Console() {
		if strings.HasPrefix(line, "exception") {
			t.Errorf("uncaught exception in the page: %s", line)
		}
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// checkFakeMedia fails the test unless the page's fake devices give a 1280x720 camera and a
// microphone in a secure context (either browser).
func checkFakeMedia(t *testing.T, p Tab) {
	t.Helper()
	type media struct {
		Width, Height, AudioTracks int
		Secure                     bool
	}
	got := MustEval[media](t, p, `(async () => {
		const s = await navigator.mediaDevices.getUserMedia({video: {width: 1280, height: 720}, audio: true});
		const v = s.getVideoTracks()[0].getSettings();
		const audioTracks = s.getAudioTracks().length;
		s.getTracks().forEach((t) => t.stop());
		return {Width: v.width, Height: v.height, AudioTracks: audioTracks, Secure: window.isSecureContext};
	})()`)
	if got.Width != 1280 || got.Height != 720 || got.AudioTracks != 1 || !got.Secure {
		t.Fatalf("getUserMedia gave %+v, want a 1280x720 video track and one audio track in a secure context", got)
	}
}
