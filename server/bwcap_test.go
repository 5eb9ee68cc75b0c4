package server

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/client"
	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room"
	"github.com/podium-sfu/podium/testmedia"
)

// throttleConn is a bottleneck on the server's path to one address: packets leave at rate
// bits/s through a queue of at most maxDelay, the rest is dropped — like a real capped link, so
// the bandwidth estimator has to find the cap from delay and loss.
type throttleConn struct {
	net.PacketConn
	maxDelay time.Duration
	target   atomic.Pointer[string]

	mu       sync.Mutex
	rate     float64 // bits/s
	nextFree time.Time
	queue    chan queued
	done     chan struct{}
	wg       sync.WaitGroup
	sentBits atomic.Int64 // delivered through the link
	offered  atomic.Int64 // bits the server tried to send to the target, dropped ones included
	drops    atomic.Int64
	kinds    [3]atomic.Int64 // offered bits: RTP, RTCP, other (DTLS/SCTP)
}

type queued struct {
	b    []byte
	addr net.Addr
	at   time.Time
}

func newThrottle(rate float64, maxDelay time.Duration) *throttleConn {
	return &throttleConn{rate: rate, maxDelay: maxDelay, queue: make(chan queued, 4096), done: make(chan struct{})}
}

func (c *throttleConn) wrap(pc net.PacketConn) net.PacketConn {
	c.PacketConn = pc
	c.wg.Add(1)
	go c.drain() // the link: ends on Close
	return c
}

func (c *throttleConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if t := c.target.Load(); t == nil || addr.String() != *t {
		return c.PacketConn.WriteTo(b, addr)
	}
	c.offered.Add(int64(len(b) * 8))
	switch {
	case len(b) > 1 && b[0] >= 128 && b[0] < 192 && b[1] >= 192 && b[1] <= 223:
		c.kinds[1].Add(int64(len(b) * 8))
	case len(b) > 1 && b[0] >= 128 && b[0] < 192:
		c.kinds[0].Add(int64(len(b) * 8))
	default:
		c.kinds[2].Add(int64(len(b) * 8))
	}
	now := time.Now()
	c.mu.Lock()
	start := c.nextFree
	if start.Before(now) {
		start = now
	}
	if start.Sub(now) > c.maxDelay {
		c.mu.Unlock()
		c.drops.Add(1)
		return len(b), nil
	}
	c.nextFree = start.Add(time.Duration(float64(len(b)*8) / c.rate * float64(time.Second)))
	at := c.nextFree
	c.mu.Unlock()
	select {
	case c.queue <- queued{append([]byte(nil), b...), addr, at}:
	default:
		c.drops.Add(1)
	}
	return len(b), nil
}

func (c *throttleConn) drain() {
	defer c.wg.Done()
	for {
		select {
		case <-c.done:
			return
		case q := <-c.queue:
			if d := time.Until(q.at); d > 0 {
				time.Sleep(d)
			}
			c.sentBits.Add(int64(len(q.b) * 8))
			_, _ = c.PacketConn.WriteTo(q.b, q.addr)
		}
	}
}

func (c *throttleConn) Close() error {
	close(c.done)
	c.wg.Wait()
	return c.PacketConn.Close()
}

// TestBandwidthCapPausesLowestPriorities: one subscriber's downlink is capped at 800 kbps. The
// real estimator finds the real cap: once it has grown back from its first congestion, what the
// server sends the subscriber settles below the cap + 10% (measured before the bottleneck, so
// sending more and losing it fails) and not far below it, the lowest priorities are thinned to
// fewer frames or paused (the dominant speaker keeps every frame), and every participant's audio
// keeps flowing. What the allocator does
// when the cap is lifted and lowered again, and the order of the pauses, is
// room/alloc.TestBandwidthCapSimulated, on simulated time.
func TestBandwidthCapPausesLowestPriorities(t *testing.T) {
	if raceEnabled {
		// Seven participants and three layers each under the race detector starve two cores: the
		// delays the estimator measures are then the machine's, not the link's.
		t.Skip("timing test: runs without the race detector in .ci/run")
	}
	const capBits = 800_000
	link := newThrottle(capBits, 150*time.Millisecond)
	media := sfuLoopback()
	media.WrapPacketConn = link.wrap
	n, err := Start(Config{TCPPort: -1, Keys: auth.KeyProvider{testKey: testSecret}, Media: media,
		Room: room.Config{BandwidthEstimation: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = n.Shutdown(ctx)
	})
	q, h, f := testmedia.VP8Layers()
	var pubs []member
	for i := 1; i <= 6; i++ {
		c := connect(t, n, "cap", fmt.Sprintf("p%d", i))
		drainTracks(c)
		cam, err := c.PublishSimulcastIVF(context.Background(), q, h, f, client.Camera())
		if err != nil {
			t.Fatal(err)
		}
		mic, err := c.PublishOgg(context.Background(), testmedia.Opus(), client.Microphone())
		if err != nil {
			t.Fatal(err)
		}
		pubs = append(pubs, member{c, cam, mic})
	}
	speaker := pubs[0]
	speaker.mic.SetAudioLevel(25)

	viewer := connect(t, n, "cap", "viewer")
	var bytesIn atomic.Int64
	audioPackets := map[string]*atomic.Int64{}
	var amu sync.Mutex
	go func() { // counts what reaches the viewer; ends when the client closes
		for rt := range viewer.Tracks() {
			counter := &atomic.Int64{}
			if rt.Info.Kind == protocol.KindAudio {
				amu.Lock()
				audioPackets[rt.ParticipantSid] = counter
				amu.Unlock()
			}
			go func() {
				buf := make([]byte, 1600)
				for {
					n, _, err := rt.Track.Read(buf)
					if err != nil {
						return
					}
					bytesIn.Add(int64(n))
					counter.Add(1)
				}
			}()
		}
	}()
	// Cap the path to the viewer's subscriber connection once ICE chose it.
	eventually(t, 10*time.Second, "the viewer's subscriber connection", func() bool {
		_, sub := viewer.PeerConnections()
		if sub.SCTP() == nil {
			return false
		}
		pair, err := sub.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
		if err != nil || pair == nil {
			return false
		}
		addr := net.JoinHostPort(pair.Local.Address, fmt.Sprint(pair.Local.Port))
		link.target.Store(&addr)
		return true
	})

	sp := n.Rooms().Room("cap").Participant("viewer")
	var (
		smu     sync.Mutex
		samples []rateSample
	)
	stopMon := make(chan struct{})
	monDone := make(chan struct{})
	go func() { // every half second: the estimate, what is offered to and delivered by the link
		defer close(monDone)
		tk := time.NewTicker(500 * time.Millisecond)
		defer tk.Stop()
		t0 := time.Now()
		lastBits, lastOff, lastDrops := link.sentBits.Load(), link.offered.Load(), link.drops.Load()
		var lastVB, lastAB, lastRTX uint64
		for {
			select {
			case <-stopMon:
				return
			case now := <-tk.C:
				est, st := sp.BandwidthEstimate()
				bits, off, drops := link.sentBits.Load(), link.offered.Load(), link.drops.Load()
				var vb, ab, rtx uint64
				for _, sub := range sp.Stats(time.Second).Subscriptions {
					if sub.Kind == protocol.KindVideo {
						vb += sub.Bytes
					} else {
						ab += sub.Bytes
					}
					rtx += sub.Retransmits
				}
				t.Logf("%5.1fs estimate %4d kbps, offered %4d, delivered %4d kbps, %3d drops, video %d audio %d kbps, %d resent  %v; %s", now.Sub(t0).Seconds(),
					est/1000, (off-lastOff)*2/1000, (bits-lastBits)*2/1000, drops-lastDrops, (vb-lastVB)*16/1000, (ab-lastAB)*16/1000, rtx-lastRTX, st, allocationLine(sp))
				lastVB, lastAB, lastRTX = vb, ab, rtx
				smu.Lock()
				samples = append(samples, rateSample{now, (off - lastOff) * 2, int64(est)})
				smu.Unlock()
				lastBits, lastOff, lastDrops = bits, off, drops
			}
		}
	}()
	defer func() { close(stopMon); <-monDone }()
	since := func(from time.Time) []rateSample {
		smu.Lock()
		defer smu.Unlock()
		var out []rateSample
		for _, s := range samples {
			if s.at.After(from) {
				out = append(out, s)
			}
		}
		return out
	}

	// settled checks a measurement window at the cap: what the server offers stays below the cap
	// + 10% (and is not a collapse far below it), audio flows, the speaker's video stays.
	settled := func(phase string, window time.Duration) {
		t.Helper()
		audioBefore := map[string]int64{}
		amu.Lock()
		for sid, c := range audioPackets {
			audioBefore[sid] = c.Load()
		}
		amu.Unlock()
		from, offBefore, dropsBefore := time.Now(), link.offered.Load(), link.drops.Load()
		time.Sleep(window)
		offered := float64(link.offered.Load()-offBefore) / window.Seconds()
		var estSum, estN int64
		for _, s := range since(from) {
			estSum, estN = estSum+s.est, estN+1
		}
		est := float64(estSum) / float64(max(estN, 1))
		t.Logf("%s: the server offers %.0f kbps to an 800 kbps cap (estimate %.0f kbps on average, %d drops in %v)",
			phase, offered/1000, est/1000, link.drops.Load()-dropsBefore, window)
		if offered > capBits*1.1 {
			t.Errorf("%s: settled at %.0f kbps, want below %d", phase, offered/1000, capBits*11/10000)
		}
		if est < capBits/2 || offered < capBits/2 {
			t.Errorf("%s: estimate %.0f kbps, offered %.0f kbps: the estimator did not find the 800 kbps cap", phase, est/1000, offered/1000)
		}
		amu.Lock() // audio intact: every publisher's audio kept flowing (~50 packets/s)
		for _, p := range pubs {
			c := audioPackets[p.sid()]
			if c == nil || c.Load()-audioBefore[p.sid()] < int64(window.Seconds()*40) {
				t.Errorf("%s: audio of %s starved under the cap", phase, p.c.Self().Identity)
			}
		}
		amu.Unlock()
		if st, ok := viewer.StreamState(speaker.cam.Sid()); !ok || st.State != "active" {
			t.Errorf("%s: the dominant speaker's video is %+v, want active", phase, st)
		}
		paused := 0
		for _, p := range pubs[1:] {
			if st, ok := viewer.StreamState(p.cam.Sid()); ok && st.State == "paused" {
				paused++
				if st.Reason != "bandwidth" {
					t.Errorf("%s: %s paused for %q, want bandwidth", phase, p.c.Self().Identity, st.Reason)
				}
			}
		}
		// With three temporal layers (the fixtures have them) a video that does not fit whole
		// flows at fewer frames before it is paused; the speaker keeps every frame.
		thinned := 0
		if a, err := sp.Allocation(); err != nil {
			t.Errorf("%s: allocation: %v", phase, err)
		} else {
			for _, tr := range a.Tracks {
				switch {
				case tr.ChosenTemporal == nil:
				case tr.TrackSid == speaker.cam.Sid():
					t.Errorf("%s: the dominant speaker's video is thinned to temporal layer %d", phase, *tr.ChosenTemporal)
				default:
					thinned++
				}
			}
		}
		t.Logf("%s: of 5 other videos %d paused for bandwidth, %d at fewer frames", phase, paused, thinned)
		if paused+thinned == 0 {
			t.Errorf("%s: nothing paused or thinned: 6 videos cannot fit whole in 800 kbps", phase)
		}
	}

	// Let the estimator find the cap: its first estimate (3 Mbps) overloads the link, it falls
	// below the cap, often undershoots, and grows back; measure once it has stayed near the cap
	// for 1.5 s (three samples) after the fall.
	eventually(t, 20*time.Second, "the estimate to settle near the cap", func() bool {
		near := 0
		for _, s := range since(time.Time{}) {
			switch {
			case s.est >= 0 && s.est < capBits*7/10: // -1: no estimator yet
				near = 0
			case near > 0 || (s.est >= 0 && s.est < capBits):
				near++
			}
		}
		return near >= 3
	})
	settled("capped", 3*time.Second)
	_ = bytesIn.Load()
}

// allocationLine is a subscriber's allocation in one line: budget, then each video's layer
// chosen (with its temporal layer when thinned: q0 is q at a quarter of the frames) and
// forwarded.
func allocationLine(p *room.Participant) string {
	a, err := p.Allocation()
	if err != nil {
		return err.Error()
	}
	line := fmt.Sprintf("budget %d kbps:", a.Budget/1000)
	for _, t := range a.Tracks {
		temporal := ""
		if t.ChosenTemporal != nil {
			temporal = fmt.Sprint(*t.ChosenTemporal) // a thinned frame rate: its highest temporal layer
		}
		line += fmt.Sprintf(" %s=%s%s/%s", t.Participant, cmp.Or(t.Chosen, "-"), temporal, cmp.Or(t.Forwarding, "-"))
	}
	return line
}

// rateSample is what the cap test's monitor saw in one half second.
type rateSample struct {
	at           time.Time
	offered, est int64 // bits/s offered to the link over the half second; the estimate
}
