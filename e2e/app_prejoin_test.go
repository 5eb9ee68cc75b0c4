package e2e

import (
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/server"
)

// The conference app's own screens and controls, one page each: the pre-join screen, the
// "you left" screen, keyboard shortcuts and error texts.

// serverTracks is what the node holds of a participant's tracks, by source; nil while the
// participant is not in the room.
func serverTracks(n *server.Node, roomName, identity string) map[string]protocol.TrackInfo {
	r := n.Rooms().Room(roomName)
	if r == nil {
		return nil
	}
	for _, p := range r.Participants(true) {
		if p.Identity == identity {
			out := map[string]protocol.TrackInfo{}
			for _, tr := range p.Tracks {
				out[tr.Source] = tr
			}
			return out
		}
	}
	return nil
}

// shoot saves a screenshot into the artifacts directory and logs where.
func shoot(t *testing.T, p *Page, name string) {
	t.Helper()
	path := filepath.Join(artifactDir(t), name)
	if err := p.Screenshot(path); err != nil {
		t.Errorf("screenshot: %v", err)
		return
	}
	t.Logf("screenshot: %s", path)
}

// TestAppPreJoinPreviewAndJoinMuted: the lobby shows the camera's preview, lists the devices
// and moves a microphone meter before joining; "join muted" and "camera off" chosen there are
// what the others get from the first moment (the server holds both tracks muted).
func TestAppPreJoinPreviewAndJoinMuted(t *testing.T) {
	RequireBrowser(t)
	n := startDevNode(t)
	page := NewBrowser(t).NewPage(t, n.HTTPURL()+"/?identity=ann")
	page.WaitFor(t, `(() => {
		const v = document.getElementById('preview-video');
		return window.podiumApp?.state.phase === 'lobby' && v.readyState >= 2 && v.videoWidth > 0 && !v.paused &&
			document.getElementById('preview').dataset.state === 'on' &&
			document.querySelectorAll('#pre-camera option').length > 0 &&
			document.querySelectorAll('#pre-microphone option').length > 0;
	})()`, 15*time.Second)
	// The fake microphone beeps: the meter moves.
	page.WaitFor(t, `window.podiumApp.prejoin.level > 0.05`, 10*time.Second)
	shoot(t, page, "app-lobby.png")

	page.Click(t, `#pre-mic`)
	page.Click(t, `#pre-cam`)
	page.WaitFor(t, `document.getElementById('preview').dataset.state === 'off' && window.podiumApp.prejoin.micMuted &&
		document.getElementById('pre-mic').getAttribute('aria-pressed') === 'true'`, 5*time.Second)
	page.Type(t, `#join-form input[name=room]`, "prejoin")
	page.Type(t, `#join-form input[name=name]`, "Ann")
	page.Click(t, `#join-form button[type=submit]`)
	page.WaitFor(t, `window.podiumApp.state.phase === 'connected' && window.podiumApp.state.ready`, 30*time.Second)
	if !pollGo(10*time.Second, func() bool {
		tr := serverTracks(n, "prejoin", "ann")
		return tr["microphone"].Sid != "" && tr["camera"].Sid != "" && tr["microphone"].Muted && tr["camera"].Muted
	}) {
		t.Fatalf("joined muted with the camera off, but the server holds %+v", serverTracks(n, "prejoin", "ann"))
	}
	if !MustEval[bool](t, page, `document.getElementById('btn-mic').classList.contains('off') && document.getElementById('btn-cam').classList.contains('off')`) {
		t.Error("the call's buttons do not show the microphone muted and the camera off")
	}
	// The preview let its devices go: no capture is left running but the call's own.
	if live := MustEval[int](t, page, `[window.podiumApp.prejoin.video, window.podiumApp.prejoin.audio].filter((t) => t && t.readyState === 'live').length`); live != 0 {
		t.Errorf("%d preview tracks still live in the call", live)
	}
}

// TestAppLeftScreenRejoins: leaving shows a "you left" screen, not the lobby; its Rejoin button
// brings the person back into the same room with the same identity and media.
func TestAppLeftScreenRejoins(t *testing.T) {
	RequireBrowser(t)
	n := startDevNode(t)
	page := joinConference(t, NewBrowser(t), n, url.Values{"room": {"rejoin"}, "name": {"Ann"}, "identity": {"ann"}, "audio": {"0"}})
	page.Click(t, `#btn-leave`)
	page.WaitFor(t, `window.podiumApp.state.phase === 'left' && !document.getElementById('left').hidden &&
		document.getElementById('lobby').hidden && document.getElementById('left-room').textContent.includes('rejoin')`, 10*time.Second)
	shoot(t, page, "app-left.png")
	if !pollGo(10*time.Second, func() bool { return serverTracks(n, "rejoin", "ann") == nil }) {
		t.Fatal("the server still holds the participant who left")
	}
	page.Click(t, `#btn-rejoin`)
	page.WaitFor(t, `window.podiumApp.state.phase === 'connected' && window.podiumApp.state.ready && document.getElementById('left').hidden`, 30*time.Second)
	if !pollGo(10*time.Second, func() bool { return serverTracks(n, "rejoin", "ann")["camera"].Sid != "" }) {
		t.Fatal("rejoined, but the server has no camera from the participant")
	}
}

// press sends one key to the page as a person types it.
func press(t *testing.T, p *Page, key string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.Context(), 10*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.KeyEvent(key)); err != nil {
		t.Fatalf("pressing %q: %v", key, err)
	}
}

// TestAppKeyboardShortcuts: M mutes and unmutes the microphone, V the camera, G switches the
// grid view; the same keys typed into the chat are text, not commands.
func TestAppKeyboardShortcuts(t *testing.T) {
	RequireBrowser(t)
	n := startDevNode(t)
	page := joinConference(t, NewBrowser(t), n, url.Values{"room": {"keys"}, "name": {"Ann"}, "identity": {"ann"}})
	muted := func(source string) string {
		return `window.podiumApp.room.publicationBySource('` + source + `').muted`
	}
	press(t, page, "m")
	page.WaitFor(t, muted("microphone")+` && document.getElementById('btn-mic').classList.contains('off')`, 10*time.Second)
	if !pollGo(10*time.Second, func() bool { return serverTracks(n, "keys", "ann")["microphone"].Muted }) {
		t.Fatal("M: the server does not hold the microphone muted")
	}
	press(t, page, "m")
	page.WaitFor(t, `!`+muted("microphone"), 10*time.Second)
	press(t, page, "v")
	page.WaitFor(t, muted("camera")+` && document.querySelector('.tile.local').classList.contains('video-off')`, 10*time.Second)
	press(t, page, "g")
	page.WaitFor(t, `document.body.dataset.layout === 'grid'`, 5*time.Second)
	press(t, page, "g")
	page.WaitFor(t, `document.body.dataset.layout === 'speaker'`, 5*time.Second)

	page.Click(t, `#btn-chat`)
	page.Type(t, `#chat-form input[name=text]`, "mvg")
	if v := MustEval[string](t, page, `document.querySelector('#chat-form input').value`); v != "mvg" {
		t.Errorf("the chat input holds %q", v)
	}
	if MustEval[bool](t, page, `!`+muted("microphone")+` === false || `+muted("camera")+` === false || document.body.dataset.layout !== 'speaker'`) {
		t.Error("keys typed into the chat worked as shortcuts")
	}
}

// TestAppFriendlyErrors: a bad invitation link says so in plain words; the raw error chain is
// behind a closed "Details" disclosure.
func TestAppFriendlyErrors(t *testing.T) {
	RequireBrowser(t)
	n := startDevNode(t)
	page := NewBrowser(t).NewPage(t, n.HTTPURL()+"/?"+url.Values{"token": {"not-a-token"}, "autojoin": {"1"}, "video": {"0"}, "audio": {"0"}}.Encode())
	page.WaitFor(t, `window.podiumApp?.state.phase === 'error' && !document.getElementById('lobby-error').hidden`, 15*time.Second)
	text := MustEval[string](t, page, `document.querySelector('#lobby-error .error-text').textContent`)
	detail := MustEval[string](t, page, `document.querySelector('#lobby-error details code')?.textContent ?? ''`)
	open := MustEval[bool](t, page, `document.querySelector('#lobby-error details')?.open ?? true`)
	if !strings.Contains(text, "invitation link") || strings.Contains(strings.ToLower(text), "malformed") {
		t.Errorf("the error reads %q, want plain words about the invitation link", text)
	}
	if !strings.Contains(detail, "unauthorized") || open {
		t.Errorf("the raw detail %q (open %v), want the server's error behind a closed disclosure", detail, open)
	}
}

// TestAppInviteLinkPreJoin: an invitation link (?token=, keys mode) opens the pre-join screen
// with the preview and no room or name to type (the link carries them); "Join now" joins.
func TestAppInviteLinkPreJoin(t *testing.T) {
	RequireBrowser(t)
	secret := strings.Repeat("k", 40)
	n := startDevNodeWith(t, func(c *server.Config) { c.Keys = auth.KeyProvider{"app": secret} })
	tok, err := auth.Mint("app", secret, auth.MintOptions{Identity: "ann", Name: "Ann", Grant: auth.Grant{Room: "invited",
		RoomJoin: true, CanPublish: true, CanSubscribe: true, CanPublishData: true}})
	if err != nil {
		t.Fatal(err)
	}
	page := NewBrowser(t).NewPage(t, n.HTTPURL()+"/?"+url.Values{"token": {tok}}.Encode())
	page.WaitFor(t, `window.podiumApp?.state.phase === 'lobby' && document.getElementById('join-title').textContent === 'Ready to join?' &&
		[...document.querySelectorAll('#join-form .join-field')].every((f) => f.hidden) &&
		document.getElementById('preview-video').videoWidth > 0`, 15*time.Second)
	if serverTracks(n, "invited", "ann") != nil {
		t.Fatal("the link joined before its owner chose to")
	}
	page.Click(t, `#join-form button[type=submit]`)
	page.WaitFor(t, `window.podiumApp.state.phase === 'connected' && window.podiumApp.state.ready`, 30*time.Second)
	if !pollGo(10*time.Second, func() bool { return serverTracks(n, "invited", "ann")["camera"].Sid != "" }) {
		t.Fatal("joined by the link, but the server has no camera from it")
	}
}
