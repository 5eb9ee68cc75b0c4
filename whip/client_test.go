package whip_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/client"
	"github.com/podium-sfu/podium/client/media"
	"github.com/podium-sfu/podium/client/outtrack"
	"github.com/podium-sfu/podium/client/pionapi"
	"github.com/podium-sfu/podium/room"
	"github.com/podium-sfu/podium/server"
	"github.com/podium-sfu/podium/sfu"
	"github.com/podium-sfu/podium/sfu/codec"
)

// startNode runs a dev node on loopback and stops it when the test ends.
func startNode(t *testing.T) *server.Node {
	t.Helper()
	n, err := server.Start(server.Config{TCPPort: -1, Media: sfu.Config{LoopbackOnly: true},
		Room: room.Config{BandwidthEstimation: true}})
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

// token mints a token of the node's dev keys for identity in room with g's permissions.
func token(t *testing.T, n *server.Node, roomName, identity string, g auth.Grant) string {
	t.Helper()
	g.Room, g.RoomJoin = roomName, true
	tok, err := auth.Mint(n.DevKey, n.DevSecret, auth.MintOptions{Identity: identity, Grant: g})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// connectSDK joins room as a Go SDK participant (publish and subscribe); closed at the end.
func connectSDK(t *testing.T, n *server.Node, roomName, identity string) *client.Client {
	t.Helper()
	tok := token(t, n, roomName, identity, auth.Grant{CanPublish: true, CanSubscribe: true})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, n.URL(), tok, client.Options{Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// newPC is a pion peer connection with the Go SDK's codecs and interceptors, on loopback.
func newPC(t *testing.T) *webrtc.PeerConnection {
	t.Helper()
	api, err := pionapi.New(pionapi.Config{Loopback: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	return pc
}

// post sends the offer of pc, with every candidate, as a WHIP or WHEP client does; it returns
// the response and its body. A 201's answer is applied to pc.
func post(t *testing.T, pc *webrtc.PeerConnection, url, tok string) (*http.Response, string) {
	t.Helper()
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	resp, body := request(t, http.MethodPost, url, tok, "application/sdp", pc.LocalDescription().SDP)
	if resp.StatusCode == http.StatusCreated {
		if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: body}); err != nil {
			t.Fatalf("answer: %v\n%s", err, body)
		}
	}
	return resp, body
}

// request makes one HTTP request and reads its body.
func request(t *testing.T, method, url, tok, contentType, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// sender plays fixture files on one transceiver: one layer, or a simulcast track's layers.
type sender struct {
	layers  []*outtrack.Track
	players []*media.Player
}

// addSender adds a sendonly transceiver playing srcs (in a loop), one per rid when rids are set.
func addSender(t *testing.T, pc *webrtc.PeerConnection, kind webrtc.RTPCodecType, mime string, clockRate uint32,
	rids []string, srcs ...media.Source) *sender {
	t.Helper()
	s := &sender{}
	for i, src := range srcs {
		rid := ""
		if rids != nil {
			rid = rids[i]
		}
		out := outtrack.New(outtrack.Config{ID: kind.String(), StreamID: "whip", RID: rid, Kind: kind, MIME: mime, Packetize: true})
		s.layers = append(s.layers, out)
		s.players = append(s.players, media.NewPlayer(src, media.RealClock{}, clockRate, true,
			func(f media.Frame, ts uint64) error { return out.WriteFrame(f.Data, ts) }))
	}
	tr, err := pc.AddTransceiverFromTrack(s.layers[0], webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range s.layers[1:] {
		if err := tr.Sender().AddEncoding(l); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range s.layers {
		l.SetTransceiver(tr)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	start := time.Now()
	for _, p := range s.players {
		wg.Go(func() { _ = p.Run(ctx, start) })
	}
	wg.Go(func() { // a keyframe request starts the files again (each starts with one)
		for {
			pkts, _, err := tr.Sender().ReadRTCP()
			if err != nil {
				return
			}
			for _, p := range pkts {
				if _, ok := p.(*rtcp.PictureLossIndication); ok {
					for _, pl := range s.players {
						pl.RequestRestart(false)
					}
				}
			}
		}
	})
	t.Cleanup(func() { cancel(); _ = pc.Close(); wg.Wait() })
	return s
}

// received counts what one remote track delivers.
type received struct {
	mu                       sync.Mutex
	keyframes                int
	width, height            int
	videoPackets, audioPacks int
}

// read counts tr's packets and finds its keyframes (VP8: with their size) until tr ends.
func (r *received) read(tr *webrtc.TrackRemote) {
	video := tr.Kind() == webrtc.RTPCodecTypeVideo
	h264 := strings.EqualFold(tr.Codec().MimeType, webrtc.MimeTypeH264)
	buf := make([]byte, 1600)
	var pkt rtp.Packet
	for {
		n, attrs, err := tr.Read(buf)
		if err != nil {
			return
		}
		if attrs != nil && attrs.Get(webrtc.AttributeRtxSsrc) != nil {
			continue // bandwidth probes
		}
		if pkt.Unmarshal(buf[:n]) != nil || len(pkt.Payload) == 0 {
			continue
		}
		r.mu.Lock()
		if video {
			r.videoPackets++
			if w, h, ok := codec.VP8KeyframeSize(pkt.Payload); ok && !h264 {
				r.keyframes++
				r.width, r.height = w, h
			} else if h264 && codec.IsH264Keyframe(pkt.Payload) {
				r.keyframes++
			}
		} else {
			r.audioPacks++
		}
		r.mu.Unlock()
	}
}

// waitFor polls cond every 50 ms until it holds or timeout passes.
func waitFor(timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return errors.New("timed out")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}
