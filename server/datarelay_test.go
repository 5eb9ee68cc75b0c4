package server

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/client"
)

// relayInbox keeps the data packets a client receives.
type relayInbox struct {
	mu   sync.Mutex
	pkts []client.DataPacket
}

func readData(c *client.Client) *relayInbox {
	in := &relayInbox{}
	go func() { // ends when the client closes its Data channel
		for p := range c.Data() {
			in.mu.Lock()
			in.pkts = append(in.pkts, p)
			in.mu.Unlock()
		}
	}()
	return in
}

// find returns the first text message received with this topic.
func (in *relayInbox) find(topic string) (client.DataPacket, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, p := range in.pkts {
		if p.Message != nil && p.Message.Topic == topic {
			return p, true
		}
	}
	return client.DataPacket{}, false
}

func (in *relayInbox) binaries() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	n := 0
	for _, p := range in.pkts {
		if p.Binary {
			n++
		}
	}
	return n
}

// TestDataRelay: data messages reach the room with the sender's identity in "from", honour "to",
// keep their channel (reliable or lossy), and are dropped over 64 KiB or without canPublishData.
func TestDataRelay(t *testing.T) {
	n := startNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	alice, bob, carol := connect(t, n, "data", "alice"), connect(t, n, "data", "bob"), connect(t, n, "data", "carol")
	mute, err := client.Connect(ctx, n.URL(), token(t, "data", "mute", func(o *auth.MintOptions) {
		o.Grant.CanPublishData = false
	}), client.Options{Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mute.Close() })
	inBob, inCarol, inMute := readData(bob), readData(carol), readData(mute)

	send := func(c *client.Client, m client.DataMessage, reliable bool) {
		t.Helper()
		if err := c.SendData(ctx, m, reliable); err != nil {
			t.Fatalf("send %s: %v", m.Topic, err)
		}
	}
	// The subscriber channels open some time after joining: repeat until everyone has one.
	eventually(t, 15*time.Second, "the first broadcast", func() bool {
		send(alice, client.DataMessage{Topic: "hello", Payload: "hi"}, true)
		time.Sleep(100 * time.Millisecond)
		_, b := inBob.find("hello")
		_, c := inCarol.find("hello")
		_, m := inMute.find("hello")
		return b && c && m
	})
	if p, _ := inBob.find("hello"); p.Message.From != "alice" || p.Message.Payload != "hi" || p.Label != client.LabelReliable || len(p.Message.To) != 0 {
		t.Errorf("bob got %+v on %s", p.Message, p.Label)
	}

	send(alice, client.DataMessage{Topic: "whisper", To: []string{"carol"}, Payload: "psst"}, true)
	send(alice, client.DataMessage{Topic: "after-whisper"}, true)
	eventually(t, 5*time.Second, "the whisper", func() bool {
		_, c := inCarol.find("whisper")
		return c
	})
	eventually(t, 5*time.Second, "the message after the whisper", func() bool { _, ok := inBob.find("after-whisper"); return ok })
	if _, ok := inBob.find("whisper"); ok {
		t.Error("bob got a message sent to carol only")
	}

	eventually(t, 5*time.Second, "a lossy message", func() bool {
		send(alice, client.DataMessage{Topic: "lossy"}, false)
		time.Sleep(50 * time.Millisecond)
		p, ok := inBob.find("lossy")
		return ok && p.Label == client.LabelLossy && p.Message.From == "alice"
	})

	// Binary: relayed as is up to 64 KiB, dropped beyond.
	if err := alice.SendDataBinary(ctx, make([]byte, 64<<10), true); err != nil {
		t.Fatal(err)
	}
	if err := alice.SendDataBinary(ctx, make([]byte, 64<<10+1), true); err != nil {
		t.Logf("the client refused the oversized message itself: %v", err)
	}
	send(alice, client.DataMessage{Topic: "big", Payload: strings.Repeat("x", 64<<10)}, true)
	send(mute, client.DataMessage{Topic: "forbidden"}, true)
	send(alice, client.DataMessage{Topic: "last"}, true)
	eventually(t, 5*time.Second, "the last message", func() bool { _, ok := inBob.find("last"); return ok })
	time.Sleep(200 * time.Millisecond) // the forbidden message took another path: give it time to (not) arrive
	if got := inBob.binaries(); got != 1 {
		t.Errorf("bob got %d binary messages, want 1 (the one of 64 KiB)", got)
	}
	if _, ok := inBob.find("big"); ok {
		t.Error("a text message over 64 KiB was relayed")
	}
	if _, ok := inBob.find("forbidden"); ok {
		t.Error("a participant without canPublishData got a message through")
	}
}
