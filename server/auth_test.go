package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/client"
	"github.com/podium-sfu/podium/protocol"
)

// TestTokensRefusedBeforeUpgrade checks that every bad token gets HTTP 401 with a JSON body and
// never a WebSocket.
func TestTokensRefusedBeforeUpgrade(t *testing.T) {
	n := startNode(t)
	good := token(t, "r1", "ann", nil)
	expired, err := auth.Mint(testKey, testSecret, auth.MintOptions{Identity: "ann", TTL: time.Minute,
		Now: func() time.Time { return time.Now().Add(-time.Hour) }, Grant: auth.Grant{Room: "r1", RoomJoin: true}})
	if err != nil {
		t.Fatal(err)
	}
	badSig, err := auth.Mint(testKey, "another-secret-of-some-length-0123456789", auth.MintOptions{Identity: "ann",
		Grant: auth.Grant{Room: "r1", RoomJoin: true}})
	if err != nil {
		t.Fatal(err)
	}
	noJoin := token(t, "r1", "ann", func(o *auth.MintOptions) { o.Grant.RoomJoin = false })
	for _, tc := range []struct{ name, query string }{
		{"no token", ""},
		{"garbage", "access_token=not.a.jwt"},
		{"bad signature", "access_token=" + badSig},
		{"expired", "access_token=" + expired},
		{"no roomJoin", "access_token=" + noJoin},
		{"other room", "access_token=" + good + "&room=r2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := n.URL() + "/rtc?" + tc.query
			conn, resp, err := websocket.DefaultDialer.Dial(u, nil)
			if err == nil {
				conn.Close()
				t.Fatal("upgrade succeeded")
			}
			if resp == nil || resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("got %v, want 401", resp)
			}
			var body protocol.Error
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Code != "unauthorized" {
				t.Fatalf("body %+v (%v), want code unauthorized", body, err)
			}
		})
	}
	// The same token works for its own room, also as a bearer header.
	h := http.Header{"Authorization": {"Bearer " + good}}
	conn, _, err := websocket.DefaultDialer.Dial(n.URL()+"/rtc", h)
	if err != nil {
		t.Fatalf("good token refused: %v", err)
	}
	var first map[string]any
	if err := conn.ReadJSON(&first); err != nil || first["type"] != "joined" {
		t.Fatalf("first message %v (%v), want joined", first, err)
	}
	conn.Close()
}

// TestPublishForbidden: a token without canPublish gets `forbidden` for publish, and the session
// goes on.
func TestPublishForbidden(t *testing.T) {
	n := startNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tok := token(t, "r1", "viewer", func(o *auth.MintOptions) { o.Grant.CanPublish = false })
	c, err := client.Connect(ctx, n.URL(), tok, client.Options{Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Request(ctx, &protocol.Publish{CID: "cam", Kind: "video", Source: "camera"})
	var perr *protocol.Error
	if !errors.As(err, &perr) || perr.Code != protocol.CodeForbidden {
		t.Fatalf("publish without canPublish: %v, want forbidden", err)
	}
	if _, err := c.Request(ctx, &protocol.Ping{TS: 7}); err != nil {
		t.Fatalf("session died after forbidden: %v", err)
	}
}

// TestBadInput sends every kind of bad message on a raw WebSocket: each gets an `error` reply,
// and the session still answers ping afterwards.
func TestBadInput(t *testing.T) {
	n := startNode(t)
	conn, _, err := websocket.DefaultDialer.Dial(n.URL()+"/rtc?access_token="+url.QueryEscape(token(t, "r1", "eve", nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	next := func() map[string]any {
		t.Helper()
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			var m map[string]any
			if err := conn.ReadJSON(&m); err != nil {
				t.Fatalf("read: %v", err)
			}
			switch m["type"] {
			case "error", "pong", "joined":
				return m
			}
		}
	}
	if m := next(); m["type"] != "joined" {
		t.Fatalf("first message %v", m)
	}
	for _, tc := range []struct {
		name, frame, code string
	}{
		{"malformed JSON", `{"type":`, "bad_request"},
		{"not an object", `[1,2]`, "bad_request"},
		{"unknown type", `{"type":"teleport","id":"1"}`, "bad_request"},
		{"server message", `{"type":"joined","id":"2"}`, "bad_request"},
		{"missing fields", `{"type":"publish","id":"3"}`, "bad_request"},
		{"too large", `{"type":"ping","pad":"` + strings.Repeat("x", 70000) + `"}`, "bad_request"},
		{"answer without offer", `{"type":"answer","id":"4","target":"publisher","sdp":"v=0"}`, "bad_request"},
		{"invalid SDP", `{"type":"offer","id":"5","target":"publisher","sdp":"this is not sdp"}`, "bad_request"},
		{"unknown track", `{"type":"unpublish","id":"6","trackSid":"TR_nope"}`, "not_found"},
		{"unknown subscribe", `{"type":"subscribe","id":"7","trackSids":["TR_nope"],"subscribe":true}`, "not_found"},
		{"bad candidate target", `{"type":"candidate","target":"sideways","candidate":null}`, "bad_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := conn.WriteMessage(websocket.TextMessage, []byte(tc.frame)); err != nil {
				t.Fatal(err)
			}
			m := next()
			if m["type"] != "error" || m["code"] != tc.code {
				t.Fatalf("reply %v, want error %s", m, tc.code)
			}
		})
	}
	if err := conn.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if m := next(); m["type"] != "error" {
		t.Fatalf("binary frame: %v, want error", m)
	}
	if err := conn.WriteJSON(map[string]any{"type": "ping", "id": "p", "ts": 42}); err != nil {
		t.Fatal(err)
	}
	if m := next(); m["type"] != "pong" || m["ts"] != float64(42) || m["id"] != "p" {
		t.Fatalf("after bad input, ping got %v", m)
	}
}
