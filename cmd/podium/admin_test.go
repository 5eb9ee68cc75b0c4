package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/client"
	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/server"
	"github.com/podium-sfu/podium/sfu"
	"github.com/podium-sfu/podium/testmedia"
)

// adminServer runs a node in-process on free loopback ports for the API verbs.
func adminServer(t *testing.T) *server.Node {
	t.Helper()
	n, err := server.Start(server.Config{TCPPort: -1, Keys: auth.KeyProvider{testKey: testSecret},
		Media: sfu.Config{LoopbackOnly: true}})
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

// run runs one verb of the CLI against n and returns what it printed.
func run(t *testing.T, n *server.Node, args ...string) (string, error) {
	t.Helper()
	conn := []string{"--url", n.HTTPURL(), "--key", testKey, "--secret", testSecret}
	var out strings.Builder
	var err error
	switch args[0] {
	case "room":
		err = verb("room", roomVerbs(), append([]string{args[1]}, append(conn, args[2:]...)...), &out)
	case "participant":
		err = verb("participant", participantVerbs(), append([]string{args[1]}, append(conn, args[2:]...)...), &out)
	case "send-data":
		err = runAdmin("send-data", sendDataCommand(), append(conn, args[1:]...), &out)
	}
	return out.String(), err
}

func mustRun(t *testing.T, n *server.Node, args ...string) string {
	t.Helper()
	out, err := run(t, n, args...)
	if err != nil {
		t.Fatalf("podium %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func within(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestAdminVerbs: every verb of podium room, participant and send-data against a real server
// with a participant that publishes, in tables and in JSON.
func TestAdminVerbs(t *testing.T) {
	clearTokenEnv(t)
	n := adminServer(t)
	if out := mustRun(t, n, "room", "create", "--max-participants", "4", "--metadata", "m1", "standup"); !strings.Contains(out, "created standup") {
		t.Fatalf("room create: %q", out)
	}
	var rooms []protocol.RoomInfo
	if err := json.Unmarshal([]byte(mustRun(t, n, "room", "list", "--json")), &rooms); err != nil || len(rooms) != 1 || rooms[0].MaxParticipants != 4 {
		t.Fatalf("room list --json: %+v %v", rooms, err)
	}
	if out := mustRun(t, n, "room", "list"); !strings.HasPrefix(out, "NAME") || !strings.Contains(out, "standup") {
		t.Fatalf("room list: %q", out)
	}

	tok, err := auth.Mint(testKey, testSecret, auth.MintOptions{Identity: "ann", Grant: auth.Grant{Room: "standup", RoomJoin: true,
		CanPublish: true, CanSubscribe: true, CanPublishData: true}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ann, err := client.Connect(ctx, n.URL(), tok, client.Options{Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ann.Close()
	mic, err := ann.PublishOgg(ctx, testmedia.Opus(), client.Microphone())
	if err != nil {
		t.Fatal(err)
	}
	within(t, "ann's microphone in the list", func() bool {
		out, _ := run(t, n, "participant", "list", "standup")
		return strings.Contains(out, mic.Sid()+":microphone")
	})

	mustRun(t, n, "participant", "mute", "--track", mic.Sid(), "standup", "ann")
	within(t, "the microphone muted", func() bool {
		out, _ := run(t, n, "participant", "list", "standup")
		return strings.Contains(out, mic.Sid()+":microphone(muted)")
	})
	if _, err := run(t, n, "participant", "mute", "--unmute", "--track", mic.Sid(), "standup", "ann"); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("remote unmute without --allow-remote-unmute: %v", err)
	}

	out := mustRun(t, n, "participant", "update", "--name", "Ann B", "--permissions", `{"canPublishData":false}`, "--json", "standup", "ann")
	var p protocol.ParticipantInfo
	if err := json.Unmarshal([]byte(out), &p); err != nil || p.Name != "Ann B" || p.Permissions == nil || p.Permissions.CanPublishData || !p.Permissions.CanPublish {
		t.Fatalf("participant update: %q %v", out, err)
	}

	data := ann.Data()
	mustRun(t, n, "send-data", "--topic", "notice", "standup", `"the room closes in 5 minutes"`)
	select {
	case d := <-data:
		if d.Message == nil || d.Message.Topic != "notice" || d.Message.Payload != "the room closes in 5 minutes" {
			t.Fatalf("ann got %+v", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ann got no data")
	}
	if _, err := run(t, n, "send-data", "standup", "not json"); err == nil || !strings.Contains(err.Error(), "not JSON") {
		t.Fatalf("send-data with a bad payload: %v", err)
	}

	mustRun(t, n, "participant", "remove", "standup", "ann")
	within(t, "ann kicked", func() bool { return ann.LeaveReason() == protocol.LeaveKicked })
	if out := mustRun(t, n, "room", "delete", "standup"); !strings.Contains(out, "deleted standup") {
		t.Fatalf("room delete: %q", out)
	}
	if _, err := run(t, n, "room", "delete", "standup"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("deleting a missing room: %v", err)
	}
}

func TestAdminVerbsNeedKeys(t *testing.T) {
	clearTokenEnv(t)
	var out strings.Builder
	err := verb("room", roomVerbs(), []string{"list", "--url", "http://127.0.0.1:9"}, &out)
	if err == nil || !strings.Contains(err.Error(), "PODIUM_API_KEY") {
		t.Fatalf("without keys: %v", err)
	}
	if err := verb("room", roomVerbs(), []string{"rename"}, &out); err == nil || !strings.Contains(err.Error(), "unknown verb") {
		t.Fatalf("an unknown verb: %v", err)
	}
}

func TestHealth(t *testing.T) {
	n := adminServer(t)
	var out strings.Builder
	if err := health([]string{"--url", n.HTTPURL()}, &out); err != nil || !strings.Contains(out.String(), `"status":"ok"`) {
		t.Fatalf("health of a serving node: %v %q", err, out.String())
	}
	if err := health([]string{"--url", "http://127.0.0.1:9", "--timeout", "2s"}, &out); err == nil {
		t.Fatal("health of nothing succeeded")
	}
}
