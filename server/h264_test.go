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
