package server

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/client"
	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room"
)

func waitLeave(t *testing.T, c *client.Client, want string) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatalf("client not disconnected, want leave %q", want)
	}
	if got := c.LeaveReason(); got != want {
		t.Fatalf("leave reason %q, want %q", got, want)
	}
}

func TestDuplicateIdentityReplacesFirstSession(t *testing.T) {
	n := startNode(t)
	first := connect(t, n, "r1", "ann")
	watcher := connect(t, n, "r1", "bob")
	log := logEvents(watcher)
	second := connect(t, n, "r1", "ann")
	waitLeave(t, first, protocol.LeaveDuplicateIdentity)
	if second.Self().Sid == first.Self().Sid {
		t.Fatal("second session reused the first sid")
	}
	eventually(t, 5*time.Second, "bob sees ann's new session", func() bool {
		_, i := log.find(0, func(m protocol.Message) bool {
			j, ok := m.(*protocol.ParticipantJoined)
			return ok && j.Participant.Sid == second.Self().Sid
		})
		return i >= 0
	})
	if got := n.Rooms().Room("r1").Info().NumParticipants; got != 2 {
		t.Fatalf("room has %d participants, want 2", got)
	}
}

func TestFullRoomRefusesUpgrade(t *testing.T) {
	n := startNode(t)
	if _, err := n.Rooms().CreateRoom(room.RoomOptions{Name: "small", MaxParticipants: 1}); err != nil {
		t.Fatal(err)
	}
	connect(t, n, "small", "ann")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := client.Connect(ctx, n.URL(), token(t, "small", "bob", nil), client.Options{Loopback: true})
	var ce *client.ConnectError
	if !errors.As(err, &ce) || ce.Status != 403 || ce.Code != protocol.CodeLimit {
		t.Fatalf("joining a full room: %v, want 403 limit", err)
	}
}

func TestShutdownSendsLeave(t *testing.T) {
	n := startNode(t)
	a := connect(t, n, "r1", "ann")
	b := connect(t, n, "r2", "bob")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	waitLeave(t, a, protocol.LeaveServerShutdown)
	waitLeave(t, b, protocol.LeaveServerShutdown)
}

func TestKickAndCloseRoomAPI(t *testing.T) {
	n := startNode(t)
	a := connect(t, n, "r1", "ann")
	b := connect(t, n, "r1", "bob")
	admin := token(t, "r1", "ops", func(o *auth.MintOptions) { o.Grant.RoomAdmin = true })
	user := token(t, "r1", "eve", nil)
	if code := apiCall(t, "DELETE", n.HTTPURL()+"/api/rooms/r1/participants/ann", user, nil); code != 403 {
		t.Fatalf("kick without roomAdmin = %d, want 403", code)
	}
	if code := apiCall(t, "DELETE", n.HTTPURL()+"/api/rooms/r1/participants/ann", admin, nil); code != 204 {
		t.Fatalf("kick = %d, want 204", code)
	}
	waitLeave(t, a, protocol.LeaveKicked)
	var parts struct{ Participants []protocol.ParticipantInfo }
	if code := apiCall(t, "GET", n.HTTPURL()+"/api/rooms/r1/participants", admin, &parts); code != 200 || len(parts.Participants) != 1 {
		t.Fatalf("participants = %d %+v, want bob alone", code, parts)
	}
	if code := apiCall(t, "DELETE", n.HTTPURL()+"/api/rooms/r1", admin, nil); code != 204 {
		t.Fatalf("close room = %d, want 204", code)
	}
	waitLeave(t, b, protocol.LeaveRoomClosed)
	if n.Rooms().Room("r1") != nil {
		t.Fatal("room still listed after close")
	}
}
