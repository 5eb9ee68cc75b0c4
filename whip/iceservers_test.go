package whip_test

import (
	"context"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pion/turn/v5"
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/room"
	"github.com/podium-sfu/podium/server"
	"github.com/podium-sfu/podium/sfu"
	"github.com/podium-sfu/podium/whip/whiptest"
)

// iceLink is one parsed Link header value of rel="ice-server".
type iceLink struct{ url, username, credential, credentialType string }

var (
	linkTarget = regexp.MustCompile(`^<([^>]*)>`)
	linkParam  = regexp.MustCompile(`;\s*([a-z-]+)="((?:[^"\\]|\\.)*)"`)
)

func iceLinks(t *testing.T, h http.Header) []iceLink {
	t.Helper()
	var out []iceLink
	for _, v := range h.Values("Link") {
		m := linkTarget.FindStringSubmatch(v)
		if m == nil {
			t.Fatalf("Link %q has no <target>", v)
		}
		l, params := iceLink{url: m[1]}, map[string]string{}
		for _, p := range linkParam.FindAllStringSubmatch(v, -1) {
			params[p[1]] = strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(p[2])
		}
		if params["rel"] != "ice-server" {
			continue
		}
		l.username, l.credential, l.credentialType = params["username"], params["credential"], params["credential-type"]
		out = append(out, l)
	}
	return out
}

// TestAnswerNamesICEServers: the 201 of WHIP and of WHEP names the node's STUN and TURN servers in
// Link headers (RFC 9725 4.6), the TURN one with credentials of the session's identity that
// the embedded TURN server accepts for an allocation; CORS lets a player read them.
func TestAnswerNamesICEServers(t *testing.T) {
	const secret = "turn-secret-for-the-whip-tests"
	n, err := server.Start(server.Config{TCPPort: -1, Media: sfu.Config{LoopbackOnly: true},
		Room: room.Config{BandwidthEstimation: true},
		TURN: server.TURN{Embedded: true, UDPPort: 0, TCPPort: -1, TLSPort: -1, Secret: secret, Host: "127.0.0.1",
			External: []string{"stun:stun.example.test:3478"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = n.Shutdown(ctx)
	})
	resp, body, _ := whiptest.PublishFixtures(t, n.HTTPURL()+"/whip", token(t, n, "links", "obs", auth.Grant{CanPublish: true}))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /whip: %d %s", resp.StatusCode, body)
	}
	if e := resp.Header.Get("Access-Control-Expose-Headers"); !strings.Contains(e, "Link") {
		t.Errorf("Access-Control-Expose-Headers %q: a player on another origin cannot read Link", e)
	}
	links := iceLinks(t, resp.Header)
	if len(links) != 2 {
		t.Fatalf("%d ICE server links, want the TURN and the STUN server: %+v", len(links), links)
	}
	turnLink, stunLink := links[0], links[1]
	if stunLink.url != "stun:stun.example.test:3478" || stunLink.username != "" {
		t.Errorf("STUN link %+v", stunLink)
	}
	addr, ok := strings.CutPrefix(turnLink.url, "turn:")
	addr, _, _ = strings.Cut(addr, "?")
	if !ok || addr != n.TURNServer().UDPAddr().String() || turnLink.credentialType != "password" {
		t.Fatalf("TURN link %+v, want the embedded server at %s", turnLink, n.TURNServer().UDPAddr())
	}
	if _, identity, _ := strings.Cut(turnLink.username, ":"); identity != "obs" {
		t.Errorf("TURN username %q is not of the session's identity", turnLink.username)
	}

	// The credentials are good: the embedded server grants an allocation with them.
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cl, err := turn.NewClient(&turn.ClientConfig{STUNServerAddr: addr, TURNServerAddr: addr, Conn: conn,
		Username: turnLink.username, Password: turnLink.credential})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.Listen(); err != nil {
		t.Fatal(err)
	}
	relay, err := cl.Allocate()
	if err != nil {
		t.Fatalf("allocate with the Link header's credentials: %v", err)
	}
	_ = relay.Close()

	// WHEP answers name them too.
	if err := waitFor(mediaBound, func() bool { return len(n.Rooms().Room("links").Participant("obs").Info().Tracks) == 2 }); err != nil {
		t.Fatal("the WHIP session's tracks were not published")
	}
	pc := whiptest.NewPC(t)
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	resp, body = whiptest.Post(t, pc, n.HTTPURL()+"/whep", token(t, n, "links", "player", auth.Grant{CanSubscribe: true}))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /whep: %d %s", resp.StatusCode, body)
	}
	if got := iceLinks(t, resp.Header); len(got) != 2 || !strings.HasSuffix(strings.SplitN(got[0].username, ":", 2)[1], "player") {
		t.Errorf("WHEP links %+v, want two with the player's credentials", got)
	}
}
