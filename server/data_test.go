package server

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/client"
)

// inbox records the data messages a client receives, in order.
type inbox struct {
	mu   sync.Mutex
	pkts []client.DataPacket
	wg   sync.WaitGroup
}

func receiveData(c *client.Client) *inbox {
	in := &inbox{}
	in.wg.Add(1)
	go func() { // ends when the client closes its Data channel
		defer in.wg.Done()
		for p := range c.Data() {
			in.mu.Lock()
			in.pkts = append(in.pkts, p)
			in.mu.Unlock()
		}
	}()
	return in
}

// find returns the first packet that match accepts, and its index (-1 if none).
func (in *inbox) find(match func(client.DataPacket) bool) (client.DataPacket, int) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for i, p := range in.pkts {
		if match(p) {
			return p, i
		}
	}
	return client.DataPacket{}, -1
}

func payload(s string) func(client.DataPacket) bool {
	return func(p client.DataPacket) bool { return p.Message != nil && p.Message.Payload == s }
}

func topic(s string) func(client.DataPacket) bool {
	return func(p client.DataPacket) bool { return p.Message != nil && p.Message.Topic == s }
}

// count is how many received packets match accepts.
func (in *inbox) count(match func(client.DataPacket) bool) int {
	in.mu.Lock()
	defer in.mu.Unlock()
	n := 0
	for _, p := range in.pkts {
		if match(p) {
			n++
		}
	}
	return n
}

// waitFor waits until in holds a packet that match accepts and returns it.
func (in *inbox) waitFor(t *testing.T, who, what string, match func(client.DataPacket) bool) client.DataPacket {
	t.Helper()
	var p client.DataPacket
	eventually(t, 5*time.Second, who+" receiving "+what, func() bool {
		var i int
		p, i = in.find(match)
		return i >= 0
	})
	return p
}

// dataDropped is the server's Debug record of a refused data message: the only sign it arrived.
const dataDropped = "dropping data message"

// TestDataMessages: a text message on the reliable channel reaches everyone else with `from`
// set; `to` limits who gets it; a participant without canPublishData gets nothing relayed; a
// binary message is relayed as it is.
func TestDataMessages(t *testing.T) {
	drops := &logRecorder{}
	n := startNodeWith(t, func(c *Config) { c.Logger = slog.New(drops) })
	alice, bob, carol := connect(t, n, "r1", "alice"), connect(t, n, "r1", "bob"), connect(t, n, "r1", "carol")
	dave := connectWith(t, n, "r1", "dave", func(o *auth.MintOptions) { o.Grant.CanPublishData = false })
	inAlice, inBob, inCarol := receiveData(alice), receiveData(bob), receiveData(carol)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	send := func(c *client.Client, m client.DataMessage) {
		t.Helper()
		if err := c.SendData(ctx, m, true); err != nil {
			t.Fatalf("send %+v: %v", m, err)
		}
	}

	// The server drops what it cannot deliver yet: wait until everyone's channels are open.
	eventually(t, 10*time.Second, "data channels open", func() bool {
		send(alice, client.DataMessage{Topic: "warmup", Payload: "warmup"})
		_, b := inBob.find(payload("warmup"))
		_, c := inCarol.find(payload("warmup"))
		return b >= 0 && c >= 0
	})

	// To everyone.
	send(alice, client.DataMessage{Topic: "chat", Payload: "hi"})
	for who, in := range map[string]*inbox{"bob": inBob, "carol": inCarol} {
		p := in.waitFor(t, who, "hi", payload("hi"))
		if m := p.Message; p.Label != client.LabelReliable || p.Binary || m.Topic != "chat" || m.From != "alice" {
			t.Errorf("%s got %+v (%+v), want topic chat from alice on the reliable channel", who, p, m)
		}
	}

	// To bob only: carol gets the broadcast sent after it, and nothing before.
	send(alice, client.DataMessage{Topic: "chat", Payload: "psst", To: []string{"bob"}})
	send(alice, client.DataMessage{Topic: "chat", Payload: "after psst"})
	if m := inBob.waitFor(t, "bob", "psst", payload("psst")).Message; m.From != "alice" {
		t.Errorf("bob got psst as %+v, want from alice", m)
	}
	inCarol.waitFor(t, "carol", "after psst", payload("after psst"))
	if _, i := inCarol.find(payload("psst")); i >= 0 {
		t.Error("carol received a message addressed to bob only")
	}

	// dave may not publish data: once the server has refused his message, alice's next one
	// reaches bob and carol with nothing of dave's before it (the relay channel is ordered).
	before := drops.count(dataDropped)
	if err := dave.SendData(ctx, client.DataMessage{Topic: "chat", Payload: "from dave"}, true); err != nil {
		t.Fatal(err)
	}
	if err := dave.SendDataBinary(ctx, []byte("dave binary"), true); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the server refusing dave's two messages", func() bool { return drops.count(dataDropped) >= before+2 })
	send(alice, client.DataMessage{Topic: "chat", Payload: "after dave"})
	for who, in := range map[string]*inbox{"bob": inBob, "carol": inCarol} {
		in.waitFor(t, who, "after dave", payload("after dave"))
		if p, i := in.find(func(p client.DataPacket) bool {
			return bytes.Contains(p.Data, []byte("dave")) && !bytes.Contains(p.Data, []byte("after dave"))
		}); i >= 0 {
			t.Errorf("%s received dave's message %q", who, p.Data)
		}
	}

	// Binary, relayed byte for byte, without a from.
	bin := []byte{0, 1, 2, 0xfe, 0xff, '{', '}'}
	if err := alice.SendDataBinary(ctx, bin, true); err != nil {
		t.Fatal(err)
	}
	for who, in := range map[string]*inbox{"bob": inBob, "carol": inCarol} {
		p := in.waitFor(t, who, "alice's binary message", func(p client.DataPacket) bool { return p.Binary })
		if !bytes.Equal(p.Data, bin) || p.Label != client.LabelReliable {
			t.Errorf("%s got binary %v on %q, want %v on reliable", who, p.Data, p.Label, bin)
		}
	}

	// Nobody hears their own messages: alice gets bob's, and nothing of hers before it.
	send(bob, client.DataMessage{Topic: "chat", Payload: "from bob"})
	if m := inAlice.waitFor(t, "alice", "from bob", payload("from bob")).Message; m.From != "bob" {
		t.Errorf("alice got %+v, want from bob", m)
	}
	if p, i := inAlice.find(func(p client.DataPacket) bool { return p.Message == nil || p.Message.From != "bob" }); i >= 0 {
		t.Errorf("alice received %q, not from bob", p.Data)
	}
}

// TestDataLossyAndLimits: a message keeps its channel (lossy stays lossy), and what is over
// 64 KiB is dropped: a binary of exactly 64 KiB is relayed, one byte more is not, nor a text
// message over the limit.
func TestDataLossyAndLimits(t *testing.T) {
	n := startNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	alice, bob := connect(t, n, "data", "alice"), connect(t, n, "data", "bob")
	inBob := receiveData(bob)
	send := func(m client.DataMessage, reliable bool) {
		t.Helper()
		if err := alice.SendData(ctx, m, reliable); err != nil {
			t.Fatalf("send %s: %v", m.Topic, err)
		}
	}
	eventually(t, 15*time.Second, "data channels open", func() bool {
		send(client.DataMessage{Topic: "warmup"}, true)
		time.Sleep(50 * time.Millisecond)
		_, i := inBob.find(topic("warmup"))
		return i >= 0
	})
	eventually(t, 5*time.Second, "a lossy message", func() bool {
		send(client.DataMessage{Topic: "lossy"}, false)
		time.Sleep(50 * time.Millisecond)
		p, i := inBob.find(topic("lossy"))
		return i >= 0 && p.Label == client.LabelLossy && p.Message.From == "alice"
	})

	if err := alice.SendDataBinary(ctx, make([]byte, 64<<10), true); err != nil {
		t.Fatal(err)
	}
	if err := alice.SendDataBinary(ctx, make([]byte, 64<<10+1), true); err != nil {
		t.Logf("the client refused the oversized message itself: %v", err)
	}
	send(client.DataMessage{Topic: "big", Payload: strings.Repeat("x", 64<<10)}, true)
	send(client.DataMessage{Topic: "last"}, true)
	inBob.waitFor(t, "bob", "the last message", topic("last")) // the reliable channel is ordered
	if got := inBob.count(func(p client.DataPacket) bool { return p.Binary }); got != 1 {
		t.Errorf("bob got %d binary messages, want 1 (the one of 64 KiB)", got)
	}
	if _, i := inBob.find(topic("big")); i >= 0 {
		t.Error("a text message over 64 KiB was relayed")
	}
}
