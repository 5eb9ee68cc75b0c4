package server

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podium-sfu/podium/client"
	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/publicip/stuntest"
	"github.com/podium-sfu/podium/turnserver"
)

const turnSecret = "turn-secret-for-the-tests"

// connectRelayed joins with relay candidates alone: every packet goes through TURN.
func connectRelayed(t *testing.T, n *Node, room, identity string) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, n.URL(), token(t, room, identity, nil), client.Options{Loopback: true, RelayOnly: true})
	if err != nil {
		t.Fatalf("%s: connect: %v", identity, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestMediaThroughEmbeddedTURN: a publisher and a subscriber that may only use relay
// candidates meet through the embedded TURN server, over UDP and over TCP, and the subscriber
// decodes the publisher's keyframes and hears its audio.
func TestMediaThroughEmbeddedTURN(t *testing.T) {
	for _, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			n := startNodeWith(t, func(c *Config) {
				c.TURN = TURN{Embedded: true, UDPPort: -1, TCPPort: -1, TLSPort: -1, Secret: turnSecret}
				if transport == "udp" {
					c.TURN.UDPPort = 0
				} else {
					c.TURN.TCPPort = 0
				}
			})
			pub := connectRelayed(t, n, "relayed", "alice")
			sub := connectRelayed(t, n, "relayed", "bob")
			col := collect(sub)
			publishCameraAndMic(t, pub)
			sid := pub.Self().Sid
			eventually(t, 20*time.Second, "bob receiving alice through TURN", func() bool {
				got := col.byParticipant(sid)
				return got[protocol.KindVideo].keyframes > 0 && got[protocol.KindVideo].packets > 100 && got[protocol.KindAudio].packets > 25
			})
			if v := col.byParticipant(sid)[protocol.KindVideo]; v.width != 640 || v.height != 360 {
				t.Errorf("keyframe decodes as %dx%d, want 640x360", v.width, v.height)
			}
			// The media went through the relay: alice's and bob's connections allocated (bob
			// publishes nothing, so his publisher connection never gathers), and every packet bob
			// got from alice reached the SFU from a relay socket (ICE checks are a few more).
			if a := n.TURNServer().Allocations(); a < 3 {
				t.Errorf("%d TURN allocations, want 3 or more", a)
			}
			got := col.byParticipant(sid)
			if r, m := n.TURNServer().Relayed(), got[protocol.KindVideo].packets+got[protocol.KindAudio].packets; r < uint64(m) {
				t.Errorf("%d packets relayed to the SFU, fewer than the %d media packets bob got", r, m)
			}
		})
	}
}

// TestJoinedCarriesCredentialsPerParticipant: each participant gets the embedded server's URLs
// and the external ones, with TURN REST credentials of its own identity that an external
// server with the same secret accepts; STUN URLs come without credentials.
func TestJoinedCarriesCredentialsPerParticipant(t *testing.T) {
	n := startNodeWith(t, func(c *Config) {
		c.TURN = TURN{Embedded: true, UDPPort: 0, TCPPort: 0, TLSPort: -1, Secret: turnSecret, Host: "turn.example.test",
			External: []string{"turns:relay.example.test:443?transport=tcp", "stun:stun.example.test:3478"}}
	})
	for _, who := range []string{"alice", "bob"} {
		c := connect(t, n, "creds", who)
		j := joinedOf(t, c)
		if len(j.ICEServers) != 2 {
			t.Fatalf("%s got %d ICE servers, want 2: %+v", who, len(j.ICEServers), j.ICEServers)
		}
		turn, stun := j.ICEServers[0], j.ICEServers[1]
		want := []string{
			"turn:turn.example.test:" + portString(n.TURNServer().UDPAddr()) + "?transport=udp",
			"turn:turn.example.test:" + portString(n.TURNServer().TCPAddr()) + "?transport=tcp",
			"turns:relay.example.test:443?transport=tcp",
		}
		if strings.Join(turn.URLs, " ") != strings.Join(want, " ") {
			t.Errorf("%s: TURN URLs %q, want %q", who, turn.URLs, want)
		}
		expiry, identity, _ := strings.Cut(turn.Username, ":")
		if identity != who {
			t.Errorf("%s: username %q is not of its identity", who, turn.Username)
		}
		at := parseUnix(t, expiry)
		if d := time.Until(at); d < 23*time.Hour || d > 25*time.Hour {
			t.Errorf("%s: credentials expire in %v, want the default 24 h", who, d)
		}
		if c := turnserver.NewCredentials(turnSecret, who, at); c.Password != turn.Credential {
			t.Errorf("%s: password is not the REST scheme's under the shared secret", who)
		}
		if stun.Username != "" || len(stun.URLs) != 1 || stun.URLs[0] != "stun:stun.example.test:3478" {
			t.Errorf("%s: STUN server %+v", who, stun)
		}
	}
}

// TestNoTURNByDefault: without TURN configured, joined names no ICE server, as before.
func TestNoTURNByDefault(t *testing.T) {
	n := startNode(t)
	if j := joinedOf(t, connect(t, n, "plain", "alice")); len(j.ICEServers) != 0 || n.TURNServer() != nil {
		t.Fatalf("ICE servers %+v, TURN server %v; want none", j.ICEServers, n.TURNServer())
	}
}

func TestTURNConfigRefused(t *testing.T) {
	for name, tc := range map[string]TURN{
		"external TURN without a secret": {External: []string{"turn:turn.example.test:3478"}},
		"a bad external URL":             {External: []string{"http://turn.example.test"}, Secret: turnSecret},
		"TURN over TLS without TLS":      {Embedded: true, UDPPort: -1, TCPPort: -1, TLSPort: 0},
		"a port out of range":            {Embedded: true, UDPPort: 70000, TCPPort: -1, TLSPort: -1},
	} {
		cfg := Config{Keys: nil, Media: sfuLoopback(), TCPPort: -1, TURN: tc}
		n, err := Start(cfg)
		t.Logf("%s: %v", name, err)
		if err == nil {
			_ = n.Shutdown(context.Background())
			t.Errorf("%s: started", name)
		}
	}
}

// TestNodeIPAuto: --node-ip auto asks the STUN server, and the address it reports is in the
// media engine's node IPs (and so in every candidate the node offers).
func TestNodeIPAuto(t *testing.T) {
	mapped := netip.MustParseAddr("203.0.113.7")
	s, err := stuntest.Start(stuntest.Config{Mapped: mapped})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n := startNodeWith(t, func(c *Config) { c.NodeIPAuto, c.STUNServers = true, []string{s.Addr()} })
	if got := n.Engine().Config().NodeIPs; len(got) != 1 || got[0] != mapped.String() {
		t.Fatalf("engine's node IPs %v, want [%v]", got, mapped)
	}
}

func joinedOf(t *testing.T, c *client.Client) *protocol.Joined {
	t.Helper()
	l := logEvents(c)
	var j *protocol.Joined
	eventually(t, 5*time.Second, "joined", func() bool {
		m, _ := l.find(0, func(m protocol.Message) bool { _, ok := m.(*protocol.Joined); return ok })
		j, _ = m.(*protocol.Joined)
		return j != nil
	})
	return j
}

func parseUnix(t *testing.T, s string) time.Time {
	t.Helper()
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("expiry %q: %v", s, err)
	}
	return time.Unix(sec, 0)
}

func portString(a net.Addr) string { return strconv.Itoa(portOf(a)) }

// TestTURNConnectionsCapped: TURN's TCP port admits four connections per client address for each
// one the HTTP port does, and closes the next at once.
func TestTURNConnectionsCapped(t *testing.T) {
	n := startNodeWith(t, func(c *Config) {
		c.HTTP.MaxConnsPerIP = 1
		c.TURN = TURN{Embedded: true, UDPPort: -1, TCPPort: 0, TLSPort: -1, Secret: turnSecret}
	})
	addr := n.TURNServer().TCPAddr().String()
	for i := range 5 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond)) // a real-time wait: closed at accept, or held
		_, err = c.Read(make([]byte, 1))
		held := errors.Is(err, os.ErrDeadlineExceeded)
		if held != (i < 4) {
			t.Fatalf("connection %d: read %v; want the first four held and the fifth closed", i+1, err)
		}
	}
}
