package server

import (
	"context"
	"fmt"
	"net"
	"os"
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
	rate     float64
	maxDelay time.Duration
	target   atomic.Pointer[string]

	mu       sync.Mutex
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
	c.mu.Unlock()
	select {
	case c.queue <- queued{append([]byte(nil), b...), addr, c.nextFree}:
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
// estimator finds the cap; the subscriber settles below the cap + 10%, the lowest priorities are
// paused first (the dominant speaker stays), and every participant's audio keeps flowing.
//
// Not yet reliable (see the policy issue's note): pion's estimator sometimes collapses far below
// the cap and sometimes ignores heavy loss on this 2-core machine, so it runs only on request.
func TestBandwidthCapPausesLowestPriorities(t *testing.T) {
	if os.Getenv("PODIUM_BWE_TEST") == "" {
		t.Skip("set PODIUM_BWE_TEST=1: bandwidth-cap convergence is still being tuned")
	}
	const capBits = 800_000
	link := newThrottle(capBits, 150*time.Millisecond)
	media := sfuLoopback()
	media.WrapPacketConn = link.wrap
	n, err := Start(Config{HTTPPort: -1, UDPPort: -1, TCPPort: -2, Keys: auth.KeyProvider{testKey: testSecret}, Media: media,
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
	stopMon := make(chan struct{})
	monDone := make(chan struct{})
	go func() { // logs the estimate, the bottleneck and what the viewer gets every half second
		defer close(monDone)
		tk := time.NewTicker(500 * time.Millisecond)
		defer tk.Stop()
		t0 := time.Now()
		lastBits, lastOff, lastDrops := link.sentBits.Load(), link.offered.Load(), link.drops.Load()
		for {
			select {
			case <-stopMon:
				return
			case <-tk.C:
			}
			est, st := sp.BandwidthEstimate()
			bits, off, drops := link.sentBits.Load(), link.offered.Load(), link.drops.Load()
			var rtx, pk uint64
			for _, s := range sp.Stats(time.Second).Subscriptions {
				rtx += s.Retransmits
				pk += s.Packets
			}
			t.Logf("%5.1fs est %4d kbps offered %4d delivered %4d kbps drops %4d pkts %d rtx %d kinds %d/%d/%d %v", time.Since(t0).Seconds(), est/1000,
				(off-lastOff)*2/1000, (bits-lastBits)*2/1000, drops-lastDrops, pk, rtx, link.kinds[0].Load()/1000, link.kinds[1].Load()/1000, link.kinds[2].Load()/1000, st)
			lastBits, lastOff, lastDrops = bits, off, drops
		}
	}()
	defer func() { close(stopMon); <-monDone }()

	// Let the estimator find the cap, then measure.
	time.Sleep(12 * time.Second)
	audioBefore := map[string]int64{}
	amu.Lock()
	for sid, c := range audioPackets {
		audioBefore[sid] = c.Load()
	}
	amu.Unlock()
	startBits := link.sentBits.Load()
	window := 4 * time.Second
	time.Sleep(window)
	rate := float64(link.sentBits.Load()-startBits) / window.Seconds()
	t.Logf("viewer receives %.0f kbps through an 800 kbps cap (%d drops at the bottleneck)", rate/1000, link.drops.Load())
	if rate > capBits*1.1 {
		t.Errorf("viewer settled at %.0f kbps, want below %d", rate/1000, capBits*11/10000)
	}
	// Audio intact: every publisher's audio kept flowing (~50 packets/s).
	amu.Lock()
	for _, p := range pubs {
		c := audioPackets[p.sid()]
		if c == nil || c.Load()-audioBefore[p.sid()] < int64(window.Seconds()*40) {
			t.Errorf("audio of %s starved under the cap", p.c.Self().Identity)
		}
	}
	amu.Unlock()
	// The dominant speaker's video stays; what is paused is paused for bandwidth.
	if st, ok := viewer.StreamState(speaker.cam.Sid()); !ok || st.State != "active" {
		t.Errorf("the dominant speaker's video is %+v, want active", st)
	}
	paused := 0
	for _, p := range pubs[1:] {
		if st, ok := viewer.StreamState(p.cam.Sid()); ok && st.State == "paused" {
			paused++
			if st.Reason != "bandwidth" {
				t.Errorf("%s paused for %q, want bandwidth", p.c.Self().Identity, st.Reason)
			}
		}
	}
	t.Logf("%d of 5 other videos paused for bandwidth", paused)
	_ = bytesIn.Load()
}
