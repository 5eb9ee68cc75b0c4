package server

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/podium-sfu/podium/client"
)

// The hardening tests: one participant floods or stalls, and everyone else must not notice.
// Each checks the acceptance bounds of issue 15: the server's live heap stays within 64 MB of
// its baseline, a bystander keeps receiving media and data with no gap over 1 s, and the CPU
// is back to idle within 2 s of the flood's end. The bystander and the flooder run in this
// process: under the race detector, which slows every goroutine of it several times, the gap
// and CPU bounds widen (CI also runs these tests without it, at the real bounds).

const floodHeapBound = 64 << 20

var (
	floodGapBound = map[bool]time.Duration{false: time.Second, true: 3 * time.Second}[raceEnabled]
	floodCPUSlack = map[bool]float64{false: 0.25, true: 0.6}[raceEnabled]
)

// bystander is a participant that receives a publisher's media and a ticker's data messages
// (one every 100 ms) and records the longest time in which either stood still.
type bystander struct {
	media, ticks atomic.Int64
	stop         chan struct{}
	wg           sync.WaitGroup
	mu           sync.Mutex
	worstMedia   time.Duration
	worstData    time.Duration
}

// watchBystander joins a publisher, a ticker and the bystander to room and waits until media
// and data flow to it.
func watchBystander(t *testing.T, n *Node, room string) *bystander {
	t.Helper()
	pub := connect(t, n, room, "publisher")
	publishCameraAndMic(t, pub)
	ticker := connect(t, n, room, "ticker")
	by := connect(t, n, room, "bystander")
	b := &bystander{stop: make(chan struct{})}
	col := collect(by)
	b.wg.Add(3)
	go func() { // counts the bystander's data; ends when its client closes Data
		defer b.wg.Done()
		for p := range by.Data() {
			if p.Message != nil && p.Message.Topic == "tick" {
				b.ticks.Add(1)
			}
		}
	}()
	go func() { // the ticker: one small reliable message every 100 ms until stop
		defer b.wg.Done()
		tk := time.NewTicker(100 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-b.stop:
				return
			case <-tk.C:
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				_ = ticker.SendData(ctx, client.DataMessage{Topic: "tick"}, true)
				cancel()
			}
		}
	}()
	packets := func() int64 {
		total := 0
		for _, s := range col.byParticipant(pub.Self().Sid) {
			total += s.packets
		}
		return int64(total)
	}
	eventually(t, 15*time.Second, "media and data at the bystander", func() bool {
		b.media.Store(packets())
		return b.media.Load() > 50 && b.ticks.Load() > 5
	})
	go func() { // samples progress every 20 ms until stop
		defer b.wg.Done()
		lastMedia, lastData := time.Now(), time.Now()
		prevMedia, prevData := packets(), b.ticks.Load()
		tk := time.NewTicker(20 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-b.stop:
				return
			case now := <-tk.C:
				if m := packets(); m != prevMedia {
					prevMedia, lastMedia = m, now
				}
				if d := b.ticks.Load(); d != prevData {
					prevData, lastData = d, now
				}
				b.mu.Lock()
				b.worstMedia = max(b.worstMedia, now.Sub(lastMedia))
				b.worstData = max(b.worstData, now.Sub(lastData))
				b.mu.Unlock()
			}
		}
	}()
	t.Cleanup(b.close)
	return b
}

func (b *bystander) close() {
	select {
	case <-b.stop:
	default:
		close(b.stop)
	}
}

// check fails the test if the bystander's media or data stood still for more than a second.
func (b *bystander) check(t *testing.T) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	t.Logf("bystander: longest media gap %v, longest data gap %v", b.worstMedia, b.worstData)
	if b.worstMedia > floodGapBound {
		t.Errorf("the bystander's media stood still for %v (bound %v)", b.worstMedia, floodGapBound)
	}
	if b.worstData > floodGapBound {
		t.Errorf("the bystander's data stood still for %v (bound %v)", b.worstData, floodGapBound)
	}
}

// heapWatch samples the live heap (after a collection) every 250 ms and keeps the largest.
type heapWatch struct {
	base, peak atomic.Uint64
	stop       chan struct{}
	done       chan struct{}
}

func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func watchHeap() *heapWatch {
	h := &heapWatch{stop: make(chan struct{}), done: make(chan struct{})}
	h.base.Store(liveHeap())
	h.peak.Store(h.base.Load())
	go func() { // ends at check
		defer close(h.done)
		tk := time.NewTicker(250 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-h.stop:
				return
			case <-tk.C:
				if v := liveHeap(); v > h.peak.Load() {
					h.peak.Store(v)
				}
			}
		}
	}()
	return h
}

func (h *heapWatch) check(t *testing.T) {
	t.Helper()
	close(h.stop)
	<-h.done
	base, peak := h.base.Load(), h.peak.Load()
	t.Logf("live heap: baseline %d MB, peak %d MB", base>>20, peak>>20)
	if peak > base+floodHeapBound {
		t.Errorf("the live heap grew by %d MB under the flood (bound %d MB)", (peak-base)>>20, floodHeapBound>>20)
	}
}

// cpuTime is the CPU this process has used (user and system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuShare is the share of one core used over d.
func cpuShare(d time.Duration) float64 {
	before := cpuTime()
	time.Sleep(d)
	return float64(cpuTime()-before) / float64(d)
}

// checkIdleAfter waits 2 s from the flood's end, then measures one second of CPU: it must be
// within a quarter of a core of the baseline (the bystander's media and the ticker still run;
// floodCPUSlack).
func checkIdleAfter(t *testing.T, end time.Time, baseline float64) {
	t.Helper()
	time.Sleep(time.Until(end.Add(2 * time.Second)))
	after := cpuShare(time.Second)
	t.Logf("CPU: %.2f cores before the flood, %.2f cores 2 s after it", baseline, after)
	if after > baseline+floodCPUSlack {
		t.Errorf("2 s after the flood the process still used %.2f cores (%.2f before it)", after, baseline)
	}
}
