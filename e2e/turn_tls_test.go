package e2e

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/client"
	"github.com/podium-sfu/podium/server"
	"github.com/podium-sfu/podium/sfu/codec"
	"github.com/podium-sfu/podium/testmedia"
)

// TestBrowserOverDevTLSAndTURN: Chromium trusts the node's self-signed --dev-tls certificate by
// its key alone, loads the app over https (a secure context: the camera works) and joins over wss;
// then it and a Go participant, both limited to relay candidates as behind a firewall that passes
// TURN alone, exchange video through the embedded TURN server, each with credentials of its own
// identity.
func TestBrowserOverDevTLSAndTURN(t *testing.T) {
	RequireBrowser(t)
	allocs := &allocationLog{by: map[string]int{}}
	n := startDevNodeWith(t, func(c *server.Config) {
		c.Logger = slog.New(allocs)
		c.TLS.Dev = true
		c.TURN = server.TURN{Embedded: true, UDPPort: 0, TCPPort: -1, TLSPort: -1}
	})
	cert := n.TLSCertificate()
	pin := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	b := NewBrowser(t, FakeCamera(t, 120), chromedp.Flag("ignore-certificate-errors-spki-list", base64.StdEncoding.EncodeToString(pin[:])))

	gopher := connectRelayedGopher(t, n, cert, "turn")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := gopher.PublishIVF(ctx, testmedia.VP8(640), client.Camera()); err != nil {
		t.Fatal(err)
	}
	keyframes := make(chan string, 1)
	go func() { // ends when the client closes its Tracks channel
		for rt := range gopher.Tracks() {
			if rt.Info.Kind == "video" {
				go func() { // ends when the track ends
					if keyframeFrom(rt.Track) {
						select {
						case keyframes <- rt.ParticipantSid:
						default:
						}
					}
				}()
			}
		}
	}()

	if !strings.HasPrefix(n.HTTPURL(), "https://") {
		t.Fatalf("node URL %s", n.HTTPURL())
	}
	// The page may use relay candidates alone, as behind a firewall that passes TURN only.
	page := b.NewPage(t, "about:blank")
	if _, err := chromedp.Call(page.Context(), cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: relayOnlyScript}); err != nil {
		t.Fatal(err)
	}
	nav, cancelNav := context.WithTimeout(page.Context(), 30*time.Second)
	defer cancelNav()
	if err := chromedp.Do(nav, chromedp.Navigate(n.HTTPURL()+"/examples/quickstart.html?room=turn&identity=web")); err != nil {
		t.Fatal(err)
	}

	if !MustEval[bool](t, page, `window.isSecureContext && location.protocol === 'https:'`) {
		t.Fatal("the page is not a secure https context")
	}
	page.WaitFor(t, `document.getElementById('log').textContent.includes('publishing camera and microphone')`, 30*time.Second)
	if !MustEval[bool](t, page, `room.publisherPC.getConfiguration().iceTransportPolicy === 'relay' &&
		room.publisherPC.getConfiguration().iceServers[0].username.endsWith(':web')`) {
		t.Fatal("the page's connections are not relay-only with the TURN credentials of its identity")
	}
	decoding := `(async () => {
		const frames = async () => (await room.getStats()).inboundVideo.find((v) => v.participantSid === ` + jsString(gopher.Self().Sid) + `)?.framesDecoded ?? 0;
		const a = await frames();
		await new Promise((r) => setTimeout(r, 500));
		return a > 5 && (await frames()) > a;
	})()`
	page.WaitFor(t, decoding, 30*time.Second)
	select {
	case <-keyframes:
	case <-time.After(30 * time.Second):
		t.Fatal("the relay-only gopher got no keyframe from the browser")
	}
	// Chromium allocates with its credentials once it has joined, and releases what ICE did not
	// select a few seconds later: the log says it did.
	if allocs.count("web") == 0 {
		t.Errorf("the browser allocated nothing on the TURN server (credentials refused %d times)", n.TURNServer().Refused())
	}
	if turn := n.TURNServer(); turn.AllocationsOf("gopher") == 0 || turn.Relayed() < 100 {
		t.Fatalf("TURN allocations of the gopher %d; %d packets relayed", turn.AllocationsOf("gopher"), turn.Relayed())
	}
}

// relayOnlyScript makes every RTCPeerConnection of the page gather relay candidates alone.
const relayOnlyScript = `{
	const Native = window.RTCPeerConnection;
	window.RTCPeerConnection = function (config) { return new Native({ ...config, iceTransportPolicy: 'relay' }); };
	window.RTCPeerConnection.prototype = Native.prototype;
}`

// connectRelayedGopher joins over wss, trusting cert, with relay candidates alone.
func connectRelayedGopher(t *testing.T, n *server.Node, cert *x509.Certificate, room string) *client.Client {
	t.Helper()
	tok, err := auth.Mint(n.DevKey, n.DevSecret, auth.MintOptions{Identity: "gopher", Name: "Gopher",
		Grant: auth.Grant{Room: room, RoomJoin: true, CanPublish: true, CanSubscribe: true}})
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, n.URL(), tok, client.Options{Loopback: true, RelayOnly: true, TLS: &tls.Config{RootCAs: roots}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// keyframeFrom reads a VP8 track until a keyframe with a picture size arrives.
func keyframeFrom(tr *webrtc.TrackRemote) bool {
	buf := make([]byte, 1600)
	var pkt rtp.Packet
	for {
		n, _, err := tr.Read(buf)
		if err != nil {
			return false
		}
		if pkt.Unmarshal(buf[:n]) == nil && codec.IsVP8Keyframe(pkt.Payload) {
			if w, _, ok := codec.VP8KeyframeSize(pkt.Payload); ok && w > 0 {
				return true
			}
		}
	}
}

// allocationLog counts the TURN server's "TURN allocation" records by identity.
type allocationLog struct {
	mu sync.Mutex
	by map[string]int
}

// Enabled stops at debug, where the TURN allocations are: pion's trace records format its
// structs while its own goroutines write them (a data race in pion, seen under -race).
func (l *allocationLog) Enabled(_ context.Context, level slog.Level) bool {
	return level >= slog.LevelDebug
}
func (l *allocationLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *allocationLog) WithGroup(string) slog.Handler      { return l }
func (l *allocationLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "TURN allocation" {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "identity" {
			l.mu.Lock()
			l.by[a.Value.String()]++
			l.mu.Unlock()
		}
		return true
	})
	return nil
}

func (l *allocationLog) count(identity string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.by[identity]
}
