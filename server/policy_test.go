package server

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/podium-sfu/podium/client"
	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/testmedia"
)

// member is one participant of the policy test: a simulcast camera and a microphone whose
// RFC 6464 level the test scripts.
type member struct {
	c   *client.Client
	cam *client.LocalTrack
	mic *client.LocalTrack
}

func (m member) sid() string { return m.c.Self().Sid }

// drainTracks reads nothing but keeps the SDK's track channel flowing; the SDK reports layers
// through streamState, which is what this test checks.
func drainTracks(c *client.Client) {
	go func() {
		for rt := range c.Tracks() {
			go func() { // read so the SDK keeps sending NACKs and feedback; ends with the track
				buf := make([]byte, 1600)
				for {
					if _, _, err := rt.Track.Read(buf); err != nil {
						return
					}
				}
			}()
		}
	}()
}

// TestSpeakerAndScreenSharePolicy: six participants publish three-layer video and audio. When
// P3 speaks, every other subscriber receives P3's top layer and everyone else's lower layers
// within 1.5 s; when P5 shares a screen, every subscriber gets the screen at its top layer.
func TestSpeakerAndScreenSharePolicy(t *testing.T) {
	if raceEnabled {
		// Six publishers of three layers under the race detector, beside the browser tests, starve
		// two cores: the non-race pass of .ci/run runs this test with the product's bounds.
		t.Skip("timing test: runs without the race detector in .ci/run")
	}
	n := startNode(t)
	q, h, f := testmedia.VP8Layers()
	var ms []member
	for i := 1; i <= 6; i++ {
		c := connect(t, n, "policy", fmt.Sprintf("p%d", i))
		drainTracks(c)
		cam, err := c.PublishSimulcastIVF(context.Background(), q, h, f, client.Camera())
		if err != nil {
			t.Fatal(err)
		}
		mic, err := c.PublishOgg(context.Background(), testmedia.Opus(), client.Microphone())
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, member{c, cam, mic})
	}
	// layersSeenBy reports what subscriber i receives of each other participant's camera.
	layersSeenBy := func(i int) map[string]string {
		out := map[string]string{}
		for j, o := range ms {
			if j != i {
				out[o.sid()] = ms[i].c.ReceivedLayer(o.cam.Sid())
			}
		}
		return out
	}
	// Timing bounds are the product's; under the race detector (several times slower) they widen
	// and the non-race run in .ci/run holds them.
	bound := 1500 * time.Millisecond
	if raceEnabled {
		bound *= 4
	}
	speaker := ms[2]
	start := time.Now()
	speaker.mic.SetAudioLevel(25) // loud speech; everyone else stays silent (127)
	eventually(t, bound, "P3 on the top layer and the others lower, at every subscriber", func() bool {
		for i := range ms {
			if i == 2 {
				continue
			}
			for sid, layer := range layersSeenBy(i) {
				if sid == speaker.sid() && layer != "f" || sid != speaker.sid() && (layer == "" || layer == "f") {
					return false
				}
			}
		}
		return true
	})
	t.Logf("speaker on stage at every subscriber after %v", time.Since(start).Round(10*time.Millisecond))

	// P3's own view: nobody else spoke, so nobody else is on stage for it either.
	eventually(t, 2*time.Second, "activeSpeakers names P3 dominant", func() bool {
		for _, m := range ms {
			if dominantSeen(m.c) != speaker.sid() {
				return false
			}
		}
		return true
	})

	// Speaker-switch latency: level onset → the new speaker's top layer forwarded (streamState
	// is sent when the down track switches at the keyframe) at each subscriber.
	var lat []time.Duration
	prev := speaker
	for _, k := range []int{0, 5, 1, 3, 2, 4} {
		next := ms[k]
		time.Sleep(time.Second) // let the current speaker settle
		prev.mic.SetAudioLevel(127)
		next.mic.SetAudioLevel(25)
		onset := time.Now()
		pending := map[int]bool{}
		for i := range ms {
			if i != k {
				pending[i] = true
			}
		}
		for len(pending) > 0 && time.Since(onset) < 2*bound {
			for i := range pending {
				if ms[i].c.ReceivedLayer(next.cam.Sid()) == "f" {
					lat = append(lat, time.Since(onset))
					delete(pending, i)
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
		if len(pending) > 0 {
			t.Fatalf("speaker p%d not on the top layer at %d subscribers after %v", k+1, len(pending), 2*bound)
		}
		prev = next
	}
	slices.Sort(lat)
	p50, p95 := lat[len(lat)/2], lat[len(lat)*95/100]
	t.Logf("speaker switch latency over %d observations: p50 %v, p95 %v, max %v", len(lat), p50.Round(time.Millisecond), p95.Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond))
	if p95 > bound {
		t.Errorf("speaker switch p95 %v, want under %v", p95, bound)
	}

	// P5 shares a screen: every subscriber gets it at its top layer.
	screen, err := ms[4].c.PublishSimulcastIVF(context.Background(), q, h, f, client.Screen())
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*bound+5*time.Second, "the screen share at its top layer everywhere", func() bool {
		for i := range ms {
			if i != 4 && ms[i].c.ReceivedLayer(screen.Sid()) != "f" {
				return false
			}
		}
		return true
	})
}

// dominantSeen returns the dominant speaker in the last activeSpeakers the client got.
func dominantSeen(c *client.Client) string {
	return c.DominantSpeaker()
}

var _ = protocol.KindVideo
