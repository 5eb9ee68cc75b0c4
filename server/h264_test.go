package server

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/client"
	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/testmedia"
)

// TestH264Forwarding: a publisher sends the H.264 fixture at 30 fps; the subscriber receives a
// video/H264 track that starts decodable (an IDR or SPS arrives) and keeps flowing.
func TestH264Forwarding(t *testing.T) {
	n := startNode(t)
	pub := connect(t, n, "r1", "ann")
	sub := connect(t, n, "r1", "bob")
	col := collect(sub)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	o := client.Camera()
	o.Width, o.Height = 640, 360
	lt, err := pub.PublishH264(ctx, testmedia.H264(), 30, o)
	if err != nil {
		t.Fatalf("publish H.264: %v", err)
	}
	eventually(t, 10*time.Second, "bob receiving ann's H.264 with a keyframe", func() bool {
		v := col.byParticipant(pub.Self().Sid)[protocol.KindVideo]
		return v.keyframes > 0 && v.packets > 30
	})
	v := col.byParticipant(pub.Self().Sid)[protocol.KindVideo]
	if !strings.EqualFold(v.mime, webrtc.MimeTypeH264) {
		t.Errorf("bob receives %q, want %s", v.mime, webrtc.MimeTypeH264)
	}
	if v.seqGaps > 2 {
		t.Errorf("%d sequence gaps on loopback", v.seqGaps)
	}
	announced := ""
	for _, p := range sub.Participants() {
		for _, tr := range p.Tracks {
			if tr.Sid == lt.Sid() {
				announced = tr.MimeType
			}
		}
	}
	if !strings.EqualFold(announced, webrtc.MimeTypeH264) {
		t.Errorf("bob's view of the track says codec %q, want %s", announced, webrtc.MimeTypeH264)
	}
}

// TestMixedCodecsReachOneSubscriber: a subscriber whose first video is H.264 (a Safari
// publisher) still receives a VP8 video that comes later (a Chromium one), and the other way
// round. pion keeps the codecs of a connection's first answer with video as the ones it may
// offer; when that answer had only the track's codec, every later track of the other codec
// was offered without it and never arrived.
func TestMixedCodecsReachOneSubscriber(t *testing.T) {
	for _, firstH264 := range []bool{true, false} {
		name := map[bool]string{true: "H264 first", false: "VP8 first"}[firstH264]
		t.Run(name, func(t *testing.T) {
			n := startNode(t)
			sub := connect(t, n, "mixed", "sub")
			col := collect(sub)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			publish := func(h264 bool, who string) *client.Client {
				c := connect(t, n, "mixed", who)
				var err error
				if h264 {
					_, err = c.PublishH264(ctx, testmedia.H264(), 30, client.Camera())
				} else {
					_, err = c.PublishIVF(ctx, testmedia.VP8(640), client.Camera())
				}
				if err != nil {
					t.Fatal(err)
				}
				eventually(t, 10*time.Second, who+"'s video at the subscriber", func() bool {
					return col.byParticipant(c.Self().Sid)[protocol.KindVideo].keyframes > 0
				})
				return c
			}
			publish(firstH264, "first")
			publish(!firstH264, "second")
		})
	}
}
