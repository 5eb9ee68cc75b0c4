package server

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/client"
	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/testmedia"
)

// publishCameraAndMic publishes the 640x360 VP8 fixture and the Opus fixture.
func publishCameraAndMic(t *testing.T, c *client.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.PublishIVF(ctx, testmedia.VP8(640), client.Camera()); err != nil {
		t.Fatalf("publish video: %v", err)
	}
	if _, err := c.PublishOgg(ctx, testmedia.Opus(), client.Microphone()); err != nil {
		t.Fatalf("publish audio: %v", err)
	}
}

// TestConference is the core acceptance test: three publishers in room A each receive the
// others' audio and video (decoding the keyframe size), a fourth in room B receives nothing,
// the API lists both rooms, leaving and crashing are seen by the others, and nothing leaks.
func TestConference(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	n := startNode(t)

	names := []string{"alice", "bob", "carol"}
	clients := map[string]*client.Client{}
	cols := map[string]*collector{}
	logs := map[string]*eventLog{}
	for _, name := range names {
		c := connect(t, n, "room-a", name)
		clients[name], cols[name], logs[name] = c, collect(c), logEvents(c)
	}
	dave := connect(t, n, "room-b", "dave")
	daveCol := collect(dave)
	for _, name := range names {
		publishCameraAndMic(t, clients[name])
	}
	if _, err := dave.PublishOgg(context.Background(), testmedia.Opus(), client.Microphone()); err != nil {
		t.Fatal(err)
	}

	// Everyone in room A receives both others' audio and decodable video at the published size.
	for _, name := range names {
		for _, other := range names {
			if other == name {
				continue
			}
			sid := clients[other].Self().Sid
			eventually(t, 15*time.Second, name+" receiving "+other, func() bool {
				got := cols[name].byParticipant(sid)
				v, a := got[protocol.KindVideo], got[protocol.KindAudio]
				return v.keyframes > 0 && v.packets > 30 && a.packets > 25
			})
			v := cols[name].byParticipant(sid)[protocol.KindVideo]
			if v.width != 640 || v.height != 360 {
				t.Errorf("%s decodes %s's keyframe as %dx%d, want 640x360", name, other, v.width, v.height)
			}
		}
	}
	// Room B is isolated from room A.
	if got := daveCol.count(); got != 0 {
		t.Errorf("dave in room-b received %d tracks from room-a", got)
	}
	var rooms struct{ Rooms []protocol.RoomInfo }
	admin := token(t, "", "ops", func(o *auth.MintOptions) { o.Grant = auth.Grant{RoomList: true} })
	if code := apiCall(t, "GET", n.HTTPURL()+"/api/rooms", admin, &rooms); code != 200 {
		t.Fatalf("GET /api/rooms = %d", code)
	}
	counts := map[string]int{}
	for _, r := range rooms.Rooms {
		counts[r.Name] = r.NumParticipants
	}
	if counts["room-a"] != 3 || counts["room-b"] != 1 {
		t.Errorf("GET /api/rooms = %v, want room-a:3 room-b:1", counts)
	}

	// Everyone hears how the others' connections are doing (loopback: excellent).
	eventually(t, 5*time.Second, "connectionQuality for bob at alice", func() bool {
		_, i := logs["alice"].find(0, func(m protocol.Message) bool {
			cq, ok := m.(*protocol.ConnectionQuality)
			return ok && len(cq.Updates) > 0 && cq.Updates[0].Sid == clients["bob"].Self().Sid && cq.Updates[0].Quality == "excellent"
		})
		return i >= 0
	})

	// carol leaves cleanly: alice sees her tracks unpublished, her leaving, and a new offer.
	carolSid := clients["carol"].Self().Sid
	mark := logs["alice"].len()
	if err := clients["carol"].Close(); err != nil {
		t.Fatalf("carol close: %v", err)
	}
	expectGone(t, logs["alice"], mark, carolSid, clients["carol"])

	// bob crashes: no leave, the WebSocket and peer connections just vanish.
	bobSid := clients["bob"].Self().Sid
	mark = logs["alice"].len()
	clients["bob"].Kill()
	expectGone(t, logs["alice"], mark, bobSid, clients["bob"])

	// alice still receives nothing stale and the server forgets both.
	eventually(t, 5*time.Second, "room-a down to one participant", func() bool {
		r := n.Rooms().Room("room-a")
		return r != nil && r.Info().NumParticipants == 1
	})
	for _, c := range []*client.Client{clients["alice"], dave} {
		if err := c.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	}
	eventually(t, 5*time.Second, "everyone gone", func() bool { return n.Rooms().ParticipantCount() == 0 })
	for _, name := range names {
		cols[name].wg.Wait()
		logs[name].wg.Wait()
	}
	daveCol.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Shutdown(ctx); err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

// expectGone waits for trackUnpublished (video and audio), participantLeft and a subscriber offer
// that no longer carries the participant's media.
func expectGone(t *testing.T, log *eventLog, mark int, sid string, gone *client.Client) {
	t.Helper()
	unpublished := 0
	eventually(t, 10*time.Second, "participantLeft "+sid, func() bool {
		_, i := log.find(mark, func(m protocol.Message) bool {
			l, ok := m.(*protocol.ParticipantLeft)
			return ok && l.Sid == sid
		})
		return i >= 0
	})
	for i := mark; ; i++ {
		m, j := log.find(i, func(m protocol.Message) bool {
			u, ok := m.(*protocol.TrackUnpublished)
			return ok && u.ParticipantSid == sid
		})
		if j < 0 {
			break
		}
		_ = m
		unpublished++
		i = j
	}
	if unpublished != 2 {
		t.Errorf("saw %d trackUnpublished for %s, want 2", unpublished, sid)
	}
	eventually(t, 10*time.Second, "a subscriber offer without "+sid, func() bool {
		_, i := log.find(mark, func(m protocol.Message) bool {
			o, ok := m.(*protocol.Offer)
			return ok && o.Target == protocol.TargetSubscriber && !containsStr(o.SDP, sid)
		})
		return i >= 0
	})
	select {
	case <-gone.Done():
	case <-time.After(5 * time.Second):
		t.Errorf("client %s did not finish", sid)
	}
}

func containsStr(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
