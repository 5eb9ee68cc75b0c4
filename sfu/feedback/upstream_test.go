package feedback

import (
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"

	"github.com/podium-sfu/podium/internal/rtpext"
	"github.com/podium-sfu/podium/sfu/clock"
)

// rtcpSink records what the upstream writes.
type rtcpSink struct {
	mu   sync.Mutex
	pkts []rtcp.Packet
}

func (s *rtcpSink) Write(pkts []rtcp.Packet, _ interceptor.Attributes) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pkts = append(s.pkts, pkts...)
	return 0, nil
}

func (s *rtcpSink) take() []rtcp.Packet {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pkts
	s.pkts = nil
	return p
}

// upPacket is a marshalled RTP packet with a transport-wide sequence number (extension id 3).
func upPacket(t testing.TB, ssrc uint32, seq uint16, ts uint32, twccSeq uint16) []byte {
	t.Helper()
	h := rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: ts, SSRC: ssrc}
	ext, _ := (&rtp.TransportCCExtension{TransportSequence: twccSeq}).Marshal()
	if err := h.SetExtension(3, ext); err != nil {
		t.Fatal(err)
	}
	b, err := (&rtp.Packet{Header: h, Payload: []byte{1, 2, 3}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestUpstreamFeedback: for what a publisher sends, with packets 3 and 4 lost, Podium NACKs
// exactly those, sends transport-wide feedback for what arrived, and reports the loss, the
// highest sequence number and the sender report's LSR; nothing runs before the first stream.
func TestUpstreamFeedback(t *testing.T) {
	u := New()
	sink := &rtcpSink{}
	i := &upstreamInterceptor{u: u}
	defer i.Close()
	i.BindRTCPWriter(sink)
	if u.unclock != nil {
		t.Fatal("the feedback started without a stream")
	}
	seqs := []uint16{65534, 65535, 0, 3, 4} // 1 and 2 are lost, across the wrap
	next := 0
	reader := i.BindRemoteStream(&interceptor.StreamInfo{SSRC: 7, ClockRate: 90000,
		RTPHeaderExtensions: []interceptor.RTPHeaderExtension{{URI: sdp.TransportCCURI, ID: 3}}},
		interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
			p := upPacket(t, 7, seqs[next], uint32(next)*3000, uint16(100+next))
			next++
			return copy(b, p), a, nil
		}))
	buf := make([]byte, 1500)
	for range seqs {
		if _, _, err := reader.Read(buf, nil); err != nil {
			t.Fatal(err)
		}
	}
	sr, _ := (&rtcp.SenderReport{SSRC: 7, NTPTime: 0x1234_5678_9abc_def0}).Marshal()
	rtcpReader := i.BindRTCPReader(interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		return copy(b, sr), a, nil
	}))
	if _, _, err := rtcpReader.Read(buf, nil); err != nil {
		t.Fatal(err)
	}

	var nacked []uint16
	var fbSeqs int
	var report *rtcp.ReceptionReport
	deadline := time.Now().Add(3 * time.Second)
	for (report == nil || fbSeqs == 0 || len(nacked) == 0) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		for _, p := range sink.take() {
			switch p := p.(type) {
			case *rtcp.TransportLayerNack:
				for _, pair := range p.Nacks {
					nacked = append(nacked, pair.PacketList()...)
				}
			case *rtcp.TransportLayerCC:
				fbSeqs += int(p.PacketStatusCount)
				if p.BaseSequenceNumber != 100 || p.MediaSSRC != 7 {
					t.Errorf("feedback from %d for %d, want from 100 for 7", p.BaseSequenceNumber, p.MediaSSRC)
				}
			case *rtcp.ReceiverReport:
				report = &p.Reports[0]
			}
		}
	}
	slices.Sort(nacked)
	nacked = slices.Compact(nacked)
	if !slices.Equal(nacked, []uint16{1, 2}) {
		t.Errorf("NACKed %v, want [1 2]", nacked)
	}
	if fbSeqs != 5 {
		t.Errorf("transport-wide feedback covers %d packets, want 5", fbSeqs)
	}
	if report == nil {
		t.Fatal("no receiver report")
	}
	if report.SSRC != 7 || report.TotalLost != 2 || report.LastSequenceNumber != 1<<16|4 || report.FractionLost != 2*256/7 ||
		report.LastSenderReport != 0x5678_9abc || report.Delay == 0 || report.Delay > 2*65536 {
		t.Errorf("report %+v: want 2 of 7 lost, highest 1<<16|4, LSR 0x56789abc, DLSR about a second", *report)
	}
}

// TestUpstreamNACKsAreBounded: a packet that never comes is asked for upMaxNACKs times, and a
// packet that comes late is not asked for again.
func TestUpstreamNACKsAreBounded(t *testing.T) {
	s := &upStream{ssrc: 1, clockRate: 90000}
	now := time.Now().UnixNano()
	for _, seq := range []uint16{10, 11, 14} {
		s.record(seq, 0, now)
	}
	counts := map[uint16]int{}
	for round := range upMaxNACKs + 5 {
		if round == 2 {
			s.record(12, 0, now) // late, after two requests
		}
		for _, seq := range s.missing(nil) {
			counts[seq]++
		}
	}
	if counts[12] != 2 || counts[13] != upMaxNACKs || len(counts) != 2 {
		t.Errorf("requests %v: want 12 twice (until it came) and 13 %d times", counts, upMaxNACKs)
	}
	// A jump (the publisher restarted its sequence) forgets what was missing before it.
	s.record(40000, 0, now)
	if got := s.missing(nil); len(got) != 0 {
		t.Errorf("after a jump: NACKs %v", got)
	}
	if r := s.report(now); r.TotalLost != 1 {
		t.Errorf("after a jump: %d lost in all, want 1 (13)", r.TotalLost)
	}
}

// TestUpstreamIdleHasNoGoroutine: a connection without streams starts nothing; with one and
// no room clock it ticks on a clock of its own, which Close stops.
func TestUpstreamIdleHasNoGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	var us []*upstreamInterceptor
	for range 50 {
		i := &upstreamInterceptor{u: New()}
		i.BindRTCPWriter(&rtcpSink{})
		us = append(us, i)
	}
	if n := runtime.NumGoroutine(); n > before+5 {
		t.Errorf("%d goroutines for 50 idle connections", n-before)
	}
	for _, i := range us[:20] {
		i.u.AddStream(1, 90000, 0)
		if i.u.unclock == nil || !i.u.ownsClk {
			t.Fatal("no clock of its own after the first stream")
		}
	}
	for _, i := range us {
		_ = i.Close()
	}
	_ = us[0].Close() // twice is fine
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before+5 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+5 {
		t.Errorf("%d goroutines left after Close: the connection's own clock still runs", n-before)
	}
}

// FuzzRTPExtension: any packet, any id: no panic, and what is found lies inside the packet.
func FuzzRTPExtension(f *testing.F) {
	f.Add(upPacket(f, 1, 2, 3, 4), uint8(3))
	f.Add([]byte{0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe, 0xde, 0, 1, 0x30, 1, 2, 0}, uint8(3))
	f.Fuzz(func(t *testing.T, b []byte, id uint8) {
		got := rtpext.Find(b, id)
		if len(got) > len(b) {
			t.Fatal("extension longer than the packet")
		}
		u := New()
		u.streams[1] = &upStream{ssrc: 1, clockRate: 90000, twccID: id}
		u.OnRTP(b, time.Now().UnixNano())
		u.OnRTCP(b, time.Now().UnixNano())
	})
}

// TestUpstreamRecordDoesNotAllocate: recording a packet costs no allocation.
func TestUpstreamRecordDoesNotAllocate(t *testing.T) {
	u := New()
	u.AddStream(7, 90000, 3)
	defer u.Close()
	pkts := make([][]byte, 1100)
	for i := range pkts {
		pkts[i] = upPacket(t, 7, uint16(i), uint32(i)*3000, uint16(i))
	}
	n := 0
	allocs := testing.AllocsPerRun(1000, func() {
		u.OnRTP(pkts[n], time.Now().UnixNano())
		n++
	})
	if allocs > 0 {
		t.Errorf("recording a packet allocates %.2f times", allocs)
	}
}

// TestUpstreamNACKsAGapAtOnce: a gap is asked for when it opens, not at the next tick: a loss
// inside a keyframe burst would otherwise be resent when the burst has moved too far ahead.
func TestUpstreamNACKsAGapAtOnce(t *testing.T) {
	u := New()
	sink := &rtcpSink{}
	i := &upstreamInterceptor{u: u}
	defer i.Close()
	i.BindRTCPWriter(sink)
	u.AddStream(7, 90000, 0)
	now := time.Now().UnixNano()
	for _, seq := range []uint16{1, 2, 5} {
		u.OnRTP(upPacket(t, 7, seq, 0, seq), now)
	}
	var nacked []uint16
	for _, p := range sink.take() {
		if n, ok := p.(*rtcp.TransportLayerNack); ok {
			for _, pair := range n.Nacks {
				nacked = append(nacked, pair.PacketList()...)
			}
		}
	}
	if !slices.Equal(nacked, []uint16{3, 4}) {
		t.Errorf("NACKed %v as the gap opened, want [3 4]", nacked)
	}
}

// TestUpstreamTicksOnTheClock: with a clock, a publisher connection's feedback is sent from the
// clock's ticks (no clock of its own), and closing the connection takes it off the clock.
func TestUpstreamTicksOnTheClock(t *testing.T) {
	c := clock.New(20 * time.Millisecond)
	defer c.Close()
	u := New()
	u.UseClock(c)
	sink := &rtcpSink{}
	i := &upstreamInterceptor{u: u}
	i.BindRTCPWriter(sink)
	u.AddStream(7, 90000, 3)
	u.mu.Lock()
	own := u.ownsClk
	u.mu.Unlock()
	if own {
		t.Fatal("the feedback started a clock of its own")
	}
	u.OnRTP(upPacket(t, 7, 100, 0, 1), time.Now().UnixNano())
	u.OnRTP(upPacket(t, 7, 103, 3000, 2), time.Now().UnixNano()) // 101 and 102 lost: asked at once, then each tick
	var nacks, feedback int
	deadline := time.Now().Add(5 * time.Second)
	for nacks < 3 || feedback < 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d NACKs and %d transport-wide feedback in 5 s: the clock does not drive the feedback", nacks, feedback)
		}
		time.Sleep(5 * time.Millisecond)
		for _, p := range sink.take() {
			switch p.(type) {
			case *rtcp.TransportLayerNack:
				nacks++
			case *rtcp.TransportLayerCC:
				feedback++
			}
		}
	}
	if err := u.Close(); err != nil {
		t.Fatal(err)
	}
	if left := c.Len(); left != 0 {
		t.Errorf("%d callbacks left on the clock after Close", left)
	}
}

// TestUpstreamCountsPastTheLog: a stream goes on being counted as received once its sequence
// numbers have gone round the log of the ones seen (seen: every receiver report after the first
// 1,024 packets said all were lost, and a publisher's estimate fell with it). Lost packets
// still count as lost, and a late one that comes still counts.
func TestUpstreamCountsPastTheLog(t *testing.T) {
	s := &upStream{ssrc: 1, clockRate: 90000}
	now := time.Now().UnixNano()
	seq := uint16(65000) // and across the 16-bit wrap
	for range 3 * upLogSize {
		s.record(seq, 0, now)
		seq++
	}
	if r := s.report(now); r.TotalLost != 0 || r.FractionLost != 0 {
		t.Fatalf("%d packets in order: %d lost, fraction %d/256", 3*upLogSize, r.TotalLost, r.FractionLost)
	}
	s.record(seq+2, 0, now) // seq and seq+1 missing
	s.record(seq, 0, now)   // one of them late
	for range upLogSize {
		s.record(seq+3, 0, now)
		seq++
	}
	if r := s.report(now); r.TotalLost != 1 {
		t.Fatalf("one packet lost in %d: %d lost, fraction %d/256", upLogSize+3, r.TotalLost, r.FractionLost)
	}
}

// TestUpstreamFeedbackHasSocketArrivalTimes: the first packets of a simulcast layer arrive
// 10 ms apart before pion has bound the layer's stream, and pion's path hands them on 300 ms
// later, 1 ms apart. The transport-wide feedback reports every one received at its socket
// time: late times read as queueing to the publisher's estimator (and, before, unbound
// packets were not recorded at all and read as loss).
func TestUpstreamFeedbackHasSocketArrivalTimes(t *testing.T) {
	u := New()
	sink := &rtcpSink{}
	i := &upstreamInterceptor{u: u}
	defer i.Close()
	i.BindRTCPWriter(sink)
	u.SetTransportCC(3)
	t0 := time.Now().UnixNano()
	var pkts [][]byte
	for n := range 5 {
		pkts = append(pkts, upPacket(t, 9, uint16(n), 0, uint16(200+n)))
		u.Arrived(pkts[n], t0+int64(n)*int64(10*time.Millisecond))
	}
	u.AddStream(9, 90000, 3) // pion binds the stream and reads what it held
	for n, p := range pkts {
		u.OnRTP(p, t0+int64(300*time.Millisecond)+int64(n)*int64(time.Millisecond))
	}
	var deltas []int64
	deadline := time.Now().Add(3 * time.Second)
	for len(deltas) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		for _, p := range sink.take() {
			if cc, ok := p.(*rtcp.TransportLayerCC); ok {
				if cc.BaseSequenceNumber != 200 || cc.PacketStatusCount != 5 || len(cc.RecvDeltas) != 5 {
					t.Fatalf("feedback from %d for %d packets with %d times, want from 200 for 5 received",
						cc.BaseSequenceNumber, cc.PacketStatusCount, len(cc.RecvDeltas))
				}
				for _, d := range cc.RecvDeltas[1:] {
					deltas = append(deltas, d.Delta)
				}
			}
		}
	}
	if len(deltas) == 0 {
		t.Fatal("no transport-wide feedback")
	}
	for n, d := range deltas {
		if d != 10_000 {
			t.Errorf("packet %d arrived %d µs after the one before, want the socket's 10,000", n+1, d)
		}
	}
}

// TestUpstreamKeepsItsIntervalOnAFasterClock: the room's clock ticks every 50 ms (speaker
// sampling); the feedback still runs every upTick, so NACKs are asked again and receiver
// reports sent at their own pace.
func TestUpstreamKeepsItsIntervalOnAFasterClock(t *testing.T) {
	u := New()
	sink := &rtcpSink{}
	i := &upstreamInterceptor{u: u}
	i.BindRTCPWriter(sink)
	start := time.Unix(1000, 0)
	for n := range 41 { // two seconds of a 50 ms clock
		u.tick(start.Add(time.Duration(n) * 50 * time.Millisecond))
	}
	u.mu.Lock()
	ran := u.ticks
	u.mu.Unlock()
	if want := 21; ran != want {
		t.Errorf("the feedback ran %d times in 2 s of a 50 ms clock, want %d (every %v)", ran, want, upTick)
	}
}
