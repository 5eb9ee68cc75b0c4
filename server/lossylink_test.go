package server

import (
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/podium-sfu/podium/client"
	"github.com/podium-sfu/podium/protocol"
)

// arrivalsOf records the RTP packets of one track as the subscriber reads them (after pion's
// NACK generator, so repairs are counted), to tell complete frames from broken ones.
type arrivalsOf struct {
	mu      sync.Mutex
	seqs    map[int64]bool // extended sequence numbers received
	markers map[int64]bool // ...that end a frame
	last    int64          // the highest extended sequence number so far
	packets int
}

func (a *arrivalsOf) add(p *rtp.Packet) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ext := int64(p.SequenceNumber)
	if a.packets > 0 { // unwrap near the highest so far
		ext = a.last + int64(int16(p.SequenceNumber-uint16(a.last)))
	}
	a.packets++
	a.seqs[ext] = true
	if p.Marker {
		a.markers[ext] = true
	}
	a.last = max(a.last, ext)
}

// frames counts the frames that ended (a marker) between sequence numbers from and to, and those
// of them with every packet received: a frame spans from the packet after the previous marker.
func (a *arrivalsOf) frames(from, to int64) (all, complete int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	start := int64(-1)
	for s := from; s <= to; s++ {
		if !a.markers[s] {
			continue
		}
		if start >= 0 {
			all++
			whole := true
			for k := start; k <= s; k++ {
				whole = whole && a.seqs[k]
			}
			if whole {
				complete++
			}
		}
		start = s + 1
	}
	return all, complete
}

// missing counts the sequence numbers from from to to never received.
func (a *arrivalsOf) missing(from, to int64) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for s := from; s <= to; s++ {
		if !a.seqs[s] {
			n++
		}
	}
	return n
}

func (a *arrivalsOf) highest() int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.last
}

func (a *arrivalsOf) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.packets
}

// TestLossyLink: alice publishes and bob subscribes, each over a link that loses 5 % of the
// datagrams each way (seeded) and delays what it sends by 100 ms plus up to 20 ms of jitter, so
// about 200 ms of round trip on each leg. NACKs repair the video (the server's to alice, from
// its cache to bob): at least 95 % of the frames bob gets over 10 s are complete, and the
// audio, which nobody repairs, keeps flowing.
func TestLossyLink(t *testing.T) {
	node := startNode(t)
	aliceNet, bobNet := newFaultNet(7), newFaultNet(8)
	alice := connectOver(t, node, "lossy", "alice", aliceNet)
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait) // after bob's Close (cleanups run last first), which ends his tracks
	bob := connectOver(t, node, "lossy", "bob", bobNet)
	video, audio := &arrivalsOf{seqs: map[int64]bool{}, markers: map[int64]bool{}}, &arrivalsOf{seqs: map[int64]bool{}, markers: map[int64]bool{}}
	wg.Add(1)
	go func() { // ends when bob's Tracks closes
		defer wg.Done()
		for rt := range bob.Tracks() {
			into := audio
			if rt.Info.Kind == protocol.KindVideo {
				into = video
			}
			wg.Add(1)
			go func(rt *client.RemoteTrack) {
				defer wg.Done()
				for {
					p, _, err := rt.Track.ReadRTP()
					if err != nil {
						return
					}
					if len(p.Payload) > 0 {
						into.add(p)
					}
				}
			}(rt)
		}
	}()
	publishCameraAndMic(t, alice)
	eventually(t, 20*time.Second, "bob receiving alice", func() bool { return video.count() > 100 && audio.count() > 50 })

	aliceNet.degrade(0.05, 100*time.Millisecond, 20*time.Millisecond)
	bobNet.degrade(0.05, 100*time.Millisecond, 20*time.Millisecond)
	time.Sleep(2 * time.Second) // what was in flight settles into the lossy regime
	from, audioFrom := video.highest(), audio.count()
	watch := watchFreezes(map[string]func() int{"alice's video at bob": video.count})
	time.Sleep(10 * time.Second)
	to, audioGot := video.highest(), audio.count()-audioFrom
	for what, d := range watch.finish() {
		t.Logf("%s: longest time without a packet %v", what, d.Round(time.Millisecond))
		if d > time.Second {
			t.Errorf("%s froze for %v", what, d)
		}
	}
	time.Sleep(2 * time.Second) // repairs of the window's last packets arrive
	all, complete := video.frames(from, to)
	missing := video.missing(from, to)
	a, b := aliceNet.counts(), bobNet.counts()
	t.Logf("alice's link dropped %d of %d datagrams, bob's %d of %d", a.dropped, a.sent, b.dropped, b.sent)
	t.Logf("video: %d of %d frames complete (%.1f %%), %d of %d packets missing after repair; audio: %d packets in 10 s",
		complete, all, 100*float64(complete)/float64(max(all, 1)), missing, to-from+1, audioGot)
	if all < 200 { // 30 fps for 10 s
		t.Fatalf("only %d frames ended at bob in 10 s", all)
	}
	if complete*100 < all*95 {
		t.Errorf("%d of %d frames complete, want at least 95 %%", complete, all)
	}
	if int64(missing)*50 > to-from+1 {
		t.Errorf("%d of %d video packets never arrived, want at most 2 %%", missing, to-from+1)
	}
	// 50 packets a second, each crossing two lossy links: about 90 % arrive.
	if audioGot < 400 {
		t.Errorf("%d audio packets in 10 s, want at least 400 of the 500 sent", audioGot)
	}
}
