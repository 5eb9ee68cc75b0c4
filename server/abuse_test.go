package server

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/client"
	"github.com/podium-sfu/podium/protocol"
)

// connectStalled joins a participant whose data channels are never read: detached channels
// get no reader, so its SCTP receive window fills and the server's queue towards it grows.
func connectStalled(t *testing.T, n *Node, room, identity string) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, n.URL(), token(t, room, identity, nil), client.Options{Loopback: true,
		SettingEngine: func(se *webrtc.SettingEngine) {
			se.DetachDataChannels()
			se.SetSCTPMaxReceiveBufferSize(64 << 10) // a small window: the backlog forms at the server at once
		}})
	if err != nil {
		t.Fatalf("%s: connect: %v", identity, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Finding 1: a participant that stops reading its data channel made the server queue every
// message relayed to it without bound (113 MB of heap after a 5 s flood of 64 KiB messages).
func TestDataFloodToAReceiverThatDoesNotRead(t *testing.T) {
	// An eighth of the default budgets, so that a flooder slowed by the race detector or a busy
	// machine still goes over them in 5 s, and what it may send does not hold the bystander's
	// ticks long behind it on their ordered channel.
	n := startNodeWith(t, func(c *Config) {
		l := &c.Room.Limits
		l.DataByteRate, l.DataByteBurst, l.ReliableBuffered, l.ReliableCeiling = 128<<10, 256<<10, 128<<10, 512<<10
	})
	by := watchBystander(t, n, "flood")
	stalled := connectStalled(t, n, "flood", "stalled")
	flooder := connect(t, n, "flood", "flooder")
	baseline := cpuShare(time.Second)
	heap := watchHeap()

	msg := make([]byte, 64<<10)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	end := time.Now().Add(5 * time.Second)
	sent := 0
	for time.Now().Before(end) {
		// As fast as the flooder's own connection takes them (SendDataBinary waits while its
		// buffer is full): the server must hold it, not the flooder.
		if err := flooder.SendDataBinary(ctx, msg, true); err != nil {
			t.Fatalf("flood: %v", err)
		}
		sent++
	}
	end = time.Now()
	t.Logf("flooded %d messages of 64 KiB (%d MB) in 5 s; drops %+v", sent, sent>>4, n.Rooms().Drops())

	waitLeave(t, stalled, protocol.LeaveSlowConsumer)
	heap.check(t)
	by.check(t)
	checkIdleAfter(t, end, baseline)
	if d := n.Rooms().Drops(); d.DataRate == 0 || d.SlowConsumers == 0 {
		t.Errorf("drops %+v: want messages over the sender's rate and the slow consumer", d)
	}
	if rm := n.Rooms().Room("flood"); rm.Participant("bystander") == nil || rm.Participant("ticker") == nil {
		t.Error("a participant that reads its data was closed")
	}
	metrics := scrapeMetrics(t, n)
	for _, want := range []string{"podium_slow_consumers_total", `podium_data_dropped_total{reason="sender_rate"}`} {
		if !strings.Contains(metrics, want) || strings.Contains(metrics, want+" 0") {
			t.Errorf("/metrics has no %q above 0", want)
		}
	}
	// The flooder stays: only its excess was dropped.
	select {
	case <-flooder.Done():
		t.Error("the flooder was disconnected; only its excess should be dropped")
	default:
	}
}

// Finding 2: 20 simultaneous joins with one identity left 8 sessions of it in the room, and a
// kick removed only one of them.
func TestOneSessionPerIdentityUnderConcurrentJoins(t *testing.T) {
	n := startNode(t)
	watcher := connect(t, n, "dup", "watcher")
	const joins = 20
	var wg sync.WaitGroup
	clients := make([]*client.Client, joins)
	for i := range joins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			c, err := client.Connect(ctx, n.URL(), token(t, "dup", "mallory", nil), client.Options{Loopback: true})
			if err != nil {
				return // a join may lose to a later one before its joined: that is fine
			}
			clients[i] = c
			t.Cleanup(func() { _ = c.Close() })
		}()
	}
	wg.Wait()
	rm := n.Rooms().Room("dup")
	countMallory := func() int {
		k := 0
		for _, p := range rm.Participants(true) {
			if p.Identity == "mallory" {
				k++
			}
		}
		return k
	}
	if k := countMallory(); k != 1 {
		t.Fatalf("%d sessions of one identity in the room, want 1", k)
	}
	alive := func() int {
		k := 0
		for _, c := range clients {
			if c == nil {
				continue
			}
			select {
			case <-c.Done():
			default:
				k++
			}
		}
		return k
	}
	eventually(t, 10*time.Second, "one connected session of the identity", func() bool { return alive() == 1 })

	admin := apiToken(t, auth.Grant{Room: "dup", RoomAdmin: true})
	url := n.HTTPURL() + "/api/rooms/dup/participants/mallory"
	if code := apiCall(t, http.MethodDelete, url, admin, nil); code != http.StatusNoContent {
		t.Fatalf("kick: %d, want 204", code)
	}
	eventually(t, 10*time.Second, "no session of the identity left", func() bool { return alive() == 0 && countMallory() == 0 })
	if code := apiCall(t, http.MethodDelete, url, admin, nil); code != http.StatusNotFound {
		t.Fatalf("second kick: %d, want 404", code)
	}
	// The watcher saw mallory come and go, and no mallory is left in its view.
	eventually(t, 5*time.Second, "the watcher's view without mallory", func() bool {
		for _, p := range watcher.Participants() {
			if p.Identity == "mallory" {
				return false
			}
		}
		return true
	})

	// Joins and kicks interleaved: whatever wins, the room and the connected clients agree on
	// at most one session of the identity.
	clients = make([]*client.Client, joins)
	for i := range joins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if c, err := client.Connect(ctx, n.URL(), token(t, "dup", "mallory", nil), client.Options{Loopback: true}); err == nil {
				clients[i] = c
				t.Cleanup(func() { _ = c.Close() })
			}
		}()
		if i%4 == 0 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				apiCall(t, http.MethodDelete, url, admin, nil)
			}()
		}
	}
	wg.Wait()
	eventually(t, 10*time.Second, "the room and the clients agreeing", func() bool {
		k := countMallory()
		return k <= 1 && alive() == k
	})
}

// Finding 3: 1,389 offers of 62 KB in 3 s took the server to ~580 MB and kept 1-1.3 cores busy
// for 12 s after the flood: the control queue was unbounded.
func TestOfferFloodIsBounded(t *testing.T) {
	// A tenth of the default strikes, so that a flooder slowed by the race detector or a busy
	// machine still reaches them.
	n := startNodeWith(t, func(c *Config) { c.Room.Limits.StrikeLimit = 20 })
	by := watchBystander(t, n, "offers")
	flooder := connect(t, n, "offers", "flooder")
	events := logEvents(flooder)
	baseline := cpuShare(time.Second)
	heap := watchHeap()

	sdp := bigOffer(t)
	frame, err := protocol.Encode(&protocol.Offer{Target: protocol.TargetPublisher, SDP: sdp})
	if err != nil {
		t.Fatal(err)
	}
	// As in the trial: 1,389 offers, as fast as the flooder can (the trial took 3 s).
	start, sent := time.Now(), 0
	for range 1389 {
		if err := flooder.SendFrame(frame); err != nil {
			break // the server closed the session: also a bound
		}
		sent++
		if sent%8 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	// It went on after being told: its session is closed with that reason.
	waitLeave(t, flooder, protocol.LeaveRateLimited)
	end := time.Now()
	t.Logf("sent %d offers of %d bytes in %v; closed after %v", sent, len(sdp), time.Since(start).Round(time.Millisecond), end.Sub(start).Round(time.Millisecond))

	heap.check(t)
	by.check(t)
	checkIdleAfter(t, end, baseline)
	limited, _ := events.find(0, func(m protocol.Message) bool {
		e, ok := m.(*protocol.Error)
		return ok && e.Code == protocol.CodeRateLimited
	})
	if limited == nil {
		t.Error("the flooder was never told it is rate limited")
	}
	if m := scrapeMetrics(t, n); strings.Contains(m, "podium_signaling_frames_dropped_total 0") {
		t.Error("/metrics counts no dropped frame")
	}
}

// bigOffer is a publisher offer of about 62 KB, as a browser could make one, with many
// audio m-sections: valid SDP that is expensive to apply.
func bigOffer(t *testing.T) string {
	t.Helper()
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	for range 40 {
		if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			t.Fatal(err)
		}
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	sdp := offer.SDP
	pad := "a=x-pad:" + strings.Repeat("p", 200) + "\r\n" // attribute lines pion ignores
	for len(sdp)+len(pad) <= protocol.MaxSDPLen {
		sdp += pad
	}
	return sdp
}

func scrapeMetrics(t *testing.T, n *Node) string {
	t.Helper()
	resp, err := http.Get(n.HTTPURL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics = %d (%v)", resp.StatusCode, err)
	}
	return string(b)
}
