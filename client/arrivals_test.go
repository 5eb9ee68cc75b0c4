package client

import (
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
)

// feedbackLog collects the transport-wide feedback a fake server receives.
type feedbackLog struct {
	mu       sync.Mutex
	arrivals []int64 // µs, in the receiver's clock, of every packet reported received
}

func (l *feedbackLog) add(p rtcp.Packet) {
	cc, ok := p.(*rtcp.TransportLayerCC)
	if !ok {
		return
	}
	at := int64(cc.ReferenceTime) * 64000
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, d := range cc.RecvDeltas {
		at += d.Delta
		l.arrivals = append(l.arrivals, at)
	}
}

// span is how many packets were reported received and over how long.
func (l *feedbackLog) span() (n int, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.arrivals) == 0 {
		return 0, 0
	}
	lo, hi := l.arrivals[0], l.arrivals[0]
	for _, a := range l.arrivals {
		lo, hi = min(lo, a), max(hi, a)
	}
	return len(l.arrivals), time.Duration(hi-lo) * time.Microsecond
}

// TestCongestionFeedbackDoesNotWaitForTrackReads: the subscriber connection reports what
// arrives as it arrives, at the times it arrived, though nobody reads the track: a busy
// application's late reads must not look like a congested path to the server. With pion's
// feedback interceptor nothing is reported until the track is read.
func TestCongestionFeedbackDoesNotWaitForTrackReads(t *testing.T) {
	fs := newFakeServer(t, defaultJoined)
	c := connect(t, fs, "ok", Options{})
	f := newFakeSFU(t, fs.session(t))
	local, sender := f.offerTrack(t, "PA_2", "TR_9", nil)
	var fb feedbackLog
	f.play(t, local, sender, fb.add)

	select {
	case <-c.Tracks(): // and never read
	case <-time.After(10 * time.Second):
		t.Fatal("no remote track")
	}
	time.Sleep(time.Second)
	n, d := fb.span()
	// 100 packets sent in that second; allow for a slow start and a busy machine.
	if n < 50 || d < 500*time.Millisecond {
		t.Fatalf("feedback reported %d packets over %v in a second of 10 ms packets nobody read; want ≥ 50 over ≥ 500 ms", n, d)
	}
}
