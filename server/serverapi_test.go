package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/podium-sfu/podium/api"
	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/client"
	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/testmedia"
	"github.com/podium-sfu/podium/webhook"
)

// hookReceiver is a backend's webhook endpoint: it checks every delivery's signature and keeps
// the events in the order they came.
type hookReceiver struct {
	mu     sync.Mutex
	events []webhook.Event
	bad    []error
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := webhook.Verify(r.Header.Get("Authorization"), body, auth.KeyProvider{testKey: testSecret}); err != nil {
		h.bad = append(h.bad, err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var ev webhook.Event
	if err := json.Unmarshal(body, &ev); err != nil {
		h.bad = append(h.bad, err)
	}
	h.events = append(h.events, ev)
}

// script lists the events as "kind identity" (identity empty for room events).
func (h *hookReceiver) script() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, e := range h.events {
		who := ""
		if e.Participant != nil {
			who = " " + e.Participant.Identity
		}
		if e.Track != nil {
			who += " " + e.Track.Source
		}
		if e.Reason != "" {
			who += " (" + e.Reason + ")"
		}
		out = append(out, e.Event+who)
	}
	return out
}

// subscribedTo reports whether the server forwards the track to the participant.
func subscribedTo(n *Node, roomName, identity, trackSid string) bool {
	p := n.Rooms().Room(roomName).Participant(identity)
	if p == nil {
		return false
	}
	for _, s := range p.Stats(time.Second).Subscriptions {
		if s.TrackSid == trackSid {
			return true
		}
	}
	return false
}

// TestServerAPIDrivesALiveRoom: every call of the Go server client against a real server with
// a publishing and a subscribing participant, and the webhook events the session makes.
func TestServerAPIDrivesALiveRoom(t *testing.T) {
	hooks := &hookReceiver{}
	hookSrv := httptest.NewServer(hooks)
	defer hookSrv.Close()
	n := startNodeWith(t, func(c *Config) { c.Webhooks.URLs = []string{hookSrv.URL} })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := api.New(n.HTTPURL(), testKey, testSecret)
	if err != nil {
		t.Fatal(err)
	}

	if _, err := c.CreateRoom(ctx, api.RoomOptions{Name: "r1", Metadata: "v1", MaxParticipants: 5}); err != nil {
		t.Fatal(err)
	}
	rooms, err := c.ListRooms(ctx)
	if err != nil || len(rooms) != 1 || rooms[0].Name != "r1" || rooms[0].MaxParticipants != 5 {
		t.Fatalf("list rooms: %+v %v", rooms, err)
	}
	if _, err := c.GetRoom(ctx, "nope"); !api.IsNotFound(err) {
		t.Fatalf("get of a missing room: %v", err)
	}

	alice := connect(t, n, "r1", "alice")
	aliceLog := logEvents(alice)
	cam, err := alice.PublishIVF(ctx, testmedia.VP8(320), client.Camera())
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "alice's camera published", func() bool {
		return len(n.Rooms().Room("r1").Participant("alice").Info().Tracks) == 1
	})
	bob := connect(t, n, "r1", "bob")
	bobLog, bobData, bobTracks := logEvents(bob), bob.Data(), collect(bob)
	eventually(t, 15*time.Second, "bob decoding alice's keyframe", func() bool {
		s, ok := bobTracks.track(cam.Sid())
		return ok && s.keyframes > 0
	})

	ps, err := c.ListParticipants(ctx, "r1")
	if err != nil || len(ps) != 2 {
		t.Fatalf("list participants: %+v %v", ps, err)
	}
	a, err := c.GetParticipant(ctx, "r1", "alice")
	if err != nil || a.Permissions == nil || !a.Permissions.CanPublish || len(a.Tracks) != 1 {
		t.Fatalf("get participant: %+v %v", a, err)
	}

	// Room metadata reaches everyone.
	if info, err := c.UpdateRoomMetadata(ctx, "r1", "v2"); err != nil || info.Metadata != "v2" {
		t.Fatalf("update room: %+v %v", info, err)
	}
	eventually(t, 5*time.Second, "bob's view of the room's metadata", func() bool { return bob.Room().Metadata == "v2" })

	// Name and metadata, as if alice had changed them.
	name, md := "Alicia", `{"role":"host"}`
	if p, err := c.UpdateParticipant(ctx, "r1", "alice", api.ParticipantUpdate{Name: &name, Metadata: &md}); err != nil || p.Name != name {
		t.Fatalf("update participant: %+v %v", p, err)
	}
	eventually(t, 5*time.Second, "bob seeing alice's new name", func() bool {
		_, i := bobLog.find(0, func(m protocol.Message) bool {
			u, ok := m.(*protocol.ParticipantUpdated)
			return ok && u.Participant.Identity == "alice" && u.Participant.Name == name && u.Participant.Metadata == md
		})
		return i >= 0
	})

	// Data from the server, to bob only.
	if err := c.SendData(ctx, "r1", api.Data{Topic: "ops", Payload: json.RawMessage(`"hello"`), To: []string{"bob"}}); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-bobData:
		if d.Message == nil || d.Message.Topic != "ops" || d.Message.Payload != "hello" || d.Message.From != "" {
			t.Fatalf("bob got %+v", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("bob got no data from the server")
	}

	// Subscriptions: off and on again.
	if err := c.UpdateSubscriptions(ctx, "r1", "bob", []string{cam.Sid()}, false); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "bob unsubscribed from alice's camera", func() bool { return !subscribedTo(n, "r1", "bob", cam.Sid()) })
	if err := c.UpdateSubscriptions(ctx, "r1", "bob", []string{cam.Sid()}, true); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "bob subscribed again", func() bool { return subscribedTo(n, "r1", "bob", cam.Sid()) })

	// Mute yes, and nothing of the track reaches bob any more; unmute only where the server
	// allows it.
	if err := c.MuteTrack(ctx, "r1", "alice", cam.Sid(), true); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // what was already on its way arrives
	before, _ := bobTracks.track(cam.Sid())
	time.Sleep(time.Second) // the camera sends tens of packets a second: a second shows any
	if after, _ := bobTracks.track(cam.Sid()); after.packets != before.packets {
		t.Fatalf("bob received %d packets of alice's muted camera", after.packets-before.packets)
	}
	var apiErr *api.Error
	if err := c.MuteTrack(ctx, "r1", "alice", cam.Sid(), false); !errors.As(err, &apiErr) || apiErr.Status != http.StatusForbidden {
		t.Fatalf("remote unmute: %v, want 403", err)
	}

	// Bad permission changes are refused with a clear error.
	hidden := &api.PermissionsUpdate{Hidden: api.Bool(true)}
	if _, err := c.UpdateParticipant(ctx, "r1", "alice", api.ParticipantUpdate{Permissions: hidden}); !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest {
		t.Fatalf("making alice hidden: %v, want 400", err)
	}

	// Revoking canSubscribe ends bob's subscriptions; giving it back brings them back.
	if _, err := c.UpdateParticipant(ctx, "r1", "bob", api.ParticipantUpdate{Permissions: &api.PermissionsUpdate{CanSubscribe: api.Bool(false)}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "bob's subscription ended", func() bool { return !subscribedTo(n, "r1", "bob", cam.Sid()) })
	if _, err := c.UpdateParticipant(ctx, "r1", "bob", api.ParticipantUpdate{Permissions: &api.PermissionsUpdate{CanSubscribe: api.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "bob subscribed once more", func() bool { return subscribedTo(n, "r1", "bob", cam.Sid()) })

	// Revoking canPublish takes alice's camera away from bob; alice learns her permissions.
	noPublish := &api.PermissionsUpdate{CanPublish: api.Bool(false)}
	if p, err := c.UpdateParticipant(ctx, "r1", "alice", api.ParticipantUpdate{Permissions: noPublish}); err != nil || p.Permissions.CanPublish || len(p.Tracks) != 0 {
		t.Fatalf("revoking publish: %+v %v", p, err)
	}
	eventually(t, 5*time.Second, "bob told alice's camera is gone", func() bool {
		_, i := bobLog.find(0, func(m protocol.Message) bool {
			u, ok := m.(*protocol.TrackUnpublished)
			return ok && u.TrackSid == cam.Sid()
		})
		return i >= 0 && !subscribedTo(n, "r1", "bob", cam.Sid())
	})
	eventually(t, 5*time.Second, "alice learning she may not publish", func() bool {
		return alice.Self().Permissions != nil && !alice.Self().Permissions.CanPublish
	})
	if _, i := aliceLog.find(0, func(m protocol.Message) bool { _, ok := m.(*protocol.Leave); return ok }); i >= 0 {
		t.Fatal("alice was disconnected by a permission change")
	}

	// A connection that drops without a leave: the backend hears it was lost.
	carol, _, err := websocket.DefaultDialer.Dial(n.URL()+"/rtc?access_token="+url.QueryEscape(token(t, "r1", "carol", nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := carol.ReadMessage(); err != nil { // joined
		t.Fatal(err)
	}
	carol.UnderlyingConn().Close()
	eventually(t, 10*time.Second, "carol's loss noticed", func() bool { return n.Rooms().Room("r1").Participant("carol") == nil })

	if err := c.RemoveParticipant(ctx, "r1", "alice"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "alice kicked", func() bool { return alice.LeaveReason() == protocol.LeaveKicked })
	if err := c.DeleteRoom(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "bob told the room closed", func() bool { return bob.LeaveReason() == protocol.LeaveRoomClosed })

	want := []string{
		"room_started",
		"participant_joined alice",
		"track_published alice camera",
		"participant_joined bob",
		"track_unpublished alice camera",
		"participant_joined carol",
		"participant_connection_lost carol",
		"participant_left alice (kicked)",
		"participant_left bob (room_closed)",
		"room_finished (room_closed)",
	}
	eventually(t, 10*time.Second, "every webhook event", func() bool { return len(hooks.script()) >= len(want) })
	if got := hooks.script(); !slices.Equal(got, want) {
		t.Fatalf("webhook events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(hooks.bad) > 0 {
		t.Fatalf("deliveries that did not verify: %v", hooks.bad)
	}
}

// TestWebhookReceiverThatNeverAnswersSlowsNoJoin: joins take as long with webhooks posted to a
// receiver that never answers as without webhooks. The bound is loose (+250 ms on the slowest
// of 10 joins) because it compares two real-time runs on a shared machine; a join that waited
// on a delivery would wait the delivery's 5 s timeout.
func TestWebhookReceiverThatNeverAnswersSlowsNoJoin(t *testing.T) {
	release := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(hung.Close) // cleanups run last first: the nodes stop while it still hangs
	t.Cleanup(func() { close(release) })
	slowest := func(n *Node) time.Duration {
		var worst time.Duration
		for i := range 10 {
			start := time.Now()
			c := connect(t, n, "r1", "p"+string(rune('a'+i)))
			worst = max(worst, time.Since(start))
			_ = c.Close()
		}
		return worst
	}
	plain := slowest(startNode(t))
	hooked := slowest(startNodeWith(t, func(c *Config) { c.Webhooks.URLs = []string{hung.URL} }))
	t.Logf("slowest join: %v without webhooks, %v with a receiver that never answers", plain, hooked)
	if hooked > plain+250*time.Millisecond {
		t.Fatalf("joins slowed by a hung webhook receiver: slowest %v, %v without", hooked, plain)
	}
}
