package sfu

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/sfu/bwe"
)

// BenchmarkFanOutCost is what a fan-out to n subscribers costs on Podium's write path (decide,
// rewrite, SRTP, estimator record, sendmmsg to loopback) sent by the reader itself and handed
// to writers (sfu/fanout): wall time and the process's CPU time (user + system, every thread)
// per subscriber. The writers' extra cost (a wake-up per writer, the copy from the cache and
// its parse, smaller sendmmsg batches) against the inline path's tells where handing over
// starts to pay (DefaultInlineFanOut).
func BenchmarkFanOutCost(b *testing.B) {
	for _, n := range []int{8, 16, 32, 64, 400} {
		for _, writers := range []bool{false, true} {
			b.Run(fmt.Sprintf("n=%d/writers=%v", n, writers), func(b *testing.B) {
				benchmarkFanOutCost(b, n, writers)
			})
		}
	}
}

func benchmarkFanOutCost(b *testing.B, n int, writers bool) {
	sink := listenLoopback(b) // never read: the kernel discards what does not fit
	r := testReceiver(vp8Codec, webrtc.RTPCodecTypeVideo, nil, 0)
	defer r.Close()
	r.p.InlineFanOut = -1
	if writers {
		r.p.InlineFanOut = 1
	}
	sock := mediaSocket(b)
	for i := range n {
		directDownTrack(b, r, webrtc.SSRC(i+1), sock, sink, testKeys(), bwe.New(3_000_000, bwe.MinEstimate, 20_000_000))
	}
	feed(r, marshal(0, 0, false, vp8Key))
	pkt := marshal(1, 3000, true, deltaPayload())
	buf := make([]byte, len(pkt))
	var p Packet
	l := r.layers[0].Load()
	for i := range uint16(64) { // the SRTP contexts, the estimators' first growth
		copy(buf, pkt)
		buf[2], buf[3] = byte((1+i)>>8), byte(1+i)
		r.forward(l, buf, &p)
		r.pool.Drain()
	}
	var before, after syscall.Rusage
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	b.ResetTimer()
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	for i := range b.N {
		copy(buf, pkt)
		seq := uint16(i + 65)
		buf[2], buf[3] = byte(seq>>8), byte(seq)
		r.forward(l, buf, &p)
		if i%32 == 31 { // well within a writer's queue: nothing is missed
			r.pool.Drain()
		}
	}
	r.pool.Drain()
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	b.StopTimer()
	cpu := time.Duration(syscall.TimevalToNsec(after.Utime) - syscall.TimevalToNsec(before.Utime) +
		syscall.TimevalToNsec(after.Stime) - syscall.TimevalToNsec(before.Stime))
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/downtrack")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*n), "cpu-ns/downtrack")
	if m := r.pool.Missed(); m != 0 {
		b.Fatalf("%d packets missed", m)
	}
}
