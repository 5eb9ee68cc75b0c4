package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/client"
	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/testmedia"
)

// apiSend performs an authenticated API call with a JSON body and decodes the answer into out
// (when not nil).
func apiSend(t *testing.T, method, url, tok string, body, out any) int {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(method, url, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: decode: %v", method, url, err)
		}
	}
	return resp.StatusCode
}

func apiToken(t *testing.T, grant auth.Grant) string {
	return token(t, "", "ops", func(o *auth.MintOptions) { o.Grant = grant })
}

// TestCreateRoomAPI: POST /api/rooms with roomCreate makes a room with the given limit and
// metadata, which GET /api/rooms lists and joins respect; without the grant it is refused.
func TestCreateRoomAPI(t *testing.T) {
	n := startNode(t)
	url := n.HTTPURL() + "/api/rooms"
	req := map[string]any{"name": "planning", "maxParticipants": 1, "emptyTimeout": 60, "metadata": `{"topic":"q3"}`}

	// Every grant but roomCreate: refused, and no room appears.
	var perr protocol.Error
	noCreate := apiToken(t, auth.Grant{RoomList: true, RoomAdmin: true})
	if code := apiSend(t, "POST", url, noCreate, req, &perr); code != http.StatusForbidden || perr.Code != protocol.CodeForbidden {
		t.Fatalf("POST /api/rooms without roomCreate = %d %+v, want 403 forbidden", code, perr)
	}
	if code := apiSend(t, "POST", url, "", req, nil); code != http.StatusUnauthorized {
		t.Fatalf("POST /api/rooms without a token = %d, want 401", code)
	}
	if n.Rooms().Room("planning") != nil {
		t.Fatal("a refused POST /api/rooms created the room")
	}

	var created protocol.RoomInfo
	if code := apiSend(t, "POST", url, apiToken(t, auth.Grant{RoomCreate: true}), req, &created); code != http.StatusOK {
		t.Fatalf("POST /api/rooms = %d", code)
	}
	if created.Name != "planning" || created.Sid == "" || created.MaxParticipants != 1 ||
		created.EmptyTimeout != 60 || created.Metadata != `{"topic":"q3"}` || created.NumParticipants != 0 {
		t.Errorf("created %+v", created)
	}

	var list struct{ Rooms []protocol.RoomInfo }
	if code := apiCall(t, "GET", url, apiToken(t, auth.Grant{RoomList: true}), &list); code != http.StatusOK {
		t.Fatalf("GET /api/rooms = %d", code)
	}
	if len(list.Rooms) != 1 || list.Rooms[0] != created {
		t.Errorf("GET /api/rooms = %+v, want [%+v]", list.Rooms, created)
	}

	// The room's settings hold for those who join it.
	ann := connect(t, n, "planning", "ann")
	if r := ann.Room(); r.Sid != created.Sid || r.Metadata != created.Metadata {
		t.Errorf("ann joined %+v, want the created room", r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := client.Connect(ctx, n.URL(), token(t, "planning", "bob", nil), client.Options{Loopback: true})
	var ce *client.ConnectError
	if !errors.As(err, &ce) || ce.Status != http.StatusForbidden || ce.Code != protocol.CodeLimit {
		t.Fatalf("second participant in a room of one: %v, want 403 limit", err)
	}
}

// TestMuteAPI: an admin mutes a participant's track over HTTP; everyone in the room gets
// participantUpdated with the track muted.
func TestMuteAPI(t *testing.T) {
	n := startNode(t)
	alice := connect(t, n, "r1", "alice")
	bob := connect(t, n, "r1", "bob")
	aliceLog, bobLog := logEvents(alice), logEvents(bob)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	mic, err := alice.PublishOgg(ctx, testmedia.Opus(), client.Microphone())
	if err != nil {
		t.Fatal(err)
	}
	published := func(m protocol.Message) bool {
		p, ok := m.(*protocol.TrackPublished)
		return ok && p.Track.Sid == mic.Sid()
	}
	eventually(t, 10*time.Second, "bob seeing alice's microphone", func() bool { _, i := bobLog.find(0, published); return i >= 0 })

	url := n.HTTPURL() + "/api/rooms/r1/participants/alice/mute"
	body := map[string]any{"trackSid": mic.Sid(), "muted": true}
	if code := apiSend(t, "POST", url, token(t, "r1", "eve", nil), body, nil); code != http.StatusForbidden {
		t.Fatalf("mute without roomAdmin = %d, want 403", code)
	}
	otherRoomAdmin := token(t, "r2", "ops", func(o *auth.MintOptions) { o.Grant.RoomAdmin = true })
	if code := apiSend(t, "POST", url, otherRoomAdmin, body, nil); code != http.StatusForbidden {
		t.Fatalf("mute by another room's admin = %d, want 403", code)
	}
	admin := token(t, "r1", "ops", func(o *auth.MintOptions) { o.Grant.RoomAdmin = true })
	if code := apiSend(t, "POST", url, admin, map[string]any{"trackSid": "TR_nope", "muted": true}, nil); code != http.StatusNotFound {
		t.Fatalf("mute of an unknown track = %d, want 404", code)
	}
	if code := apiSend(t, "POST", url, admin, body, nil); code != http.StatusNoContent {
		t.Fatalf("mute = %d, want 204", code)
	}

	mutedUpdate := func(m protocol.Message) bool {
		u, ok := m.(*protocol.ParticipantUpdated)
		if !ok || u.Participant.Identity != "alice" {
			return false
		}
		for _, tr := range u.Participant.Tracks {
			if tr.Sid == mic.Sid() {
				return tr.Muted
			}
		}
		return false
	}
	for who, log := range map[string]*eventLog{"bob": bobLog, "alice": aliceLog} {
		eventually(t, 5*time.Second, who+" getting participantUpdated with alice's microphone muted", func() bool {
			_, i := log.find(0, mutedUpdate)
			return i >= 0
		})
	}
	if tracks := n.Rooms().Room("r1").Participant("alice").Info().Tracks; len(tracks) != 1 || !tracks[0].Muted {
		t.Errorf("alice's tracks after mute: %+v", tracks)
	}
}

// TestCORSPreflight: browsers on other origins may call the API: OPTIONS answers 204 with the
// CORS headers, and real answers allow any origin.
func TestCORSPreflight(t *testing.T) {
	n := startNode(t)
	for _, path := range []string{"/api/rooms", "/api/rooms/r1/participants/ann/mute", "/api/rooms/r1"} {
		req, err := http.NewRequest("OPTIONS", n.HTTPURL()+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Origin", "https://app.example.com")
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header
		if resp.StatusCode != http.StatusNoContent {
			t.Errorf("OPTIONS %s = %d, want 204", path, resp.StatusCode)
		}
		if got := h.Get("Access-Control-Allow-Origin"); got != "*" {
			t.Errorf("OPTIONS %s: Allow-Origin %q", path, got)
		}
		for _, m := range []string{"GET", "POST", "DELETE"} {
			if !strings.Contains(h.Get("Access-Control-Allow-Methods"), m) {
				t.Errorf("OPTIONS %s: Allow-Methods %q lacks %s", path, h.Get("Access-Control-Allow-Methods"), m)
			}
		}
		for _, hdr := range []string{"authorization", "content-type"} {
			if !strings.Contains(strings.ToLower(h.Get("Access-Control-Allow-Headers")), hdr) {
				t.Errorf("OPTIONS %s: Allow-Headers %q lacks %s", path, h.Get("Access-Control-Allow-Headers"), hdr)
			}
		}
	}
	req, err := http.NewRequest("GET", n.HTTPURL()+"/api/rooms", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", "https://app.example.com")
	req.Header.Set("Authorization", "Bearer "+apiToken(t, auth.Grant{RoomList: true}))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("GET /api/rooms from another origin = %d, Allow-Origin %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
}

// TestMetrics: /metrics is Prometheus text with the node's gauges and the process metrics
// `podium load` reads.
func TestMetrics(t *testing.T) {
	n := startNode(t)
	scrape := func() string { return scrapeMetrics(t, n) }
	gauge := func(body, name string) string {
		m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindStringSubmatch(body)
		if m == nil {
			return ""
		}
		return m[1]
	}
	if got := gauge(scrape(), "podium_participants"); got != "0" {
		t.Errorf("podium_participants = %q before anyone joined, want 0", got)
	}
	connect(t, n, "r1", "ann")
	connect(t, n, "r1", "bob")
	connect(t, n, "r2", "carol")
	body := scrape()
	if got := gauge(body, "podium_participants"); got != "3" {
		t.Errorf("podium_participants = %q with three participants, want 3", got)
	}
	if got := gauge(body, "podium_rooms"); got != "2" {
		t.Errorf("podium_rooms = %q, want 2", got)
	}
	if cpu := gauge(body, "process_cpu_seconds_total"); cpu == "" {
		t.Errorf("no process_cpu_seconds_total in /metrics:\n%s", body)
	}
}
