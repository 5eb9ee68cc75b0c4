package whip_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/client"
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
