package server

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/podium-sfu/podium/client"
	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/testmedia"
)

// The server drops alice's WebSocket mid-call: her SDK resumes the session within 5 s, her
// video at bob never freezes for a second, bob sees no leave and no new track of hers, and a
// track she publishes during the outage reaches bob.
func TestSignalResume(t *testing.T) {
	n := startNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	alice, err := client.Connect(ctx, n.URL(), token(t, "resume", "alice", nil), client.Options{Loopback: true, Resume: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = alice.Close() })
	bob := connect(t, n, "resume", "bob")
	bobCol, bobLog := collect(bob), logEvents(bob)
	if _, err := alice.PublishIVF(ctx, testmedia.VP8(640), client.Camera()); err != nil {
		t.Fatal(err)
	}
	aliceSid := alice.Self().Sid
	eventually(t, 15*time.Second, "bob decoding alice", func() bool {
		return bobCol.byParticipant(aliceSid)[protocol.KindVideo].keyframes > 0
	})
	watch := watchFreezes(map[string]func() int{"alice's video at bob": func() int {
		return bobCol.byParticipant(aliceSid)[protocol.KindVideo].packets
	}})
	mark := bobLog.len()

	if !n.signal.DropSignalling("resume", "alice") {
		t.Fatal("alice had no signalling to drop")
	}
	dropped := time.Now()
	// Published as the socket goes: the request waits in the SDK and goes out on the new one.
	if _, err := alice.PublishOgg(ctx, testmedia.Opus(), client.Microphone()); err != nil {
		t.Fatalf("publishing during the outage: %v", err)
	}
	eventually(t, 5*time.Second, "alice's session resumed", func() bool { return alice.Resumes() == 1 })
	t.Logf("resumed %v after the drop", time.Since(dropped).Round(time.Millisecond))
	if alice.Self().Sid != aliceSid {
		t.Fatalf("alice is a new participant: %s, was %s", alice.Self().Sid, aliceSid)
	}
	eventually(t, 10*time.Second, "alice's microphone at bob", func() bool {
		return bobCol.byParticipant(aliceSid)[protocol.KindAudio].packets > 25
	})
	time.Sleep(time.Second)
	for what, d := range watch.finish() {
		if d > time.Second {
			t.Errorf("%s froze for %v", what, d)
		}
	}
	if _, i := bobLog.find(mark, func(m protocol.Message) bool {
		l, ok := m.(*protocol.ParticipantLeft)
		return ok && l.Sid == aliceSid
	}); i >= 0 {
		t.Error("bob saw alice leave")
	}
	published := 0
	bobLog.find(mark, func(m protocol.Message) bool {
		if tp, ok := m.(*protocol.TrackPublished); ok && tp.ParticipantSid == aliceSid {
			published++
		}
		return false
	})
	if published != 1 { // the microphone, and not the camera again
		t.Errorf("bob saw %d tracks of alice published after the drop, want 1 (the microphone)", published)
	}
}

// A client that cannot resume has nothing to resume; a resume with an unknown token, or a
// token of another participant, is refused before the upgrade.
func TestSignalResumeRefused(t *testing.T) {
	n := startNode(t)
	connect(t, n, "resume", "carol") // without the Resume option
	if n.signal.DropSignalling("resume", "carol") {
		t.Fatal("a client that cannot resume has a resumable link")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dave, err := client.Connect(ctx, n.URL(), token(t, "resume", "dave", nil), client.Options{Loopback: true, Resume: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dave.Close() })
	for name, u := range map[string]string{
		"unknown token": n.URL() + "/rtc?resume=nope&seq=1&access_token=" + token(t, "resume", "dave", nil),
	} {
		ws, resp, err := websocket.DefaultDialer.Dial(u, nil)
		if err == nil {
			ws.Close()
			t.Fatalf("%s: resumed", name)
		}
		if resp == nil || resp.StatusCode != http.StatusConflict {
			t.Fatalf("%s: %v, want HTTP 409", name, err)
		}
	}
}
