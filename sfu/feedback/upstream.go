// Package feedback is what Podium tells each publisher about the media it receives:
// transport-wide feedback, NACKs and receiver reports, recorded from pion's read path or
// Podium's own and sent on either.
package feedback

import (
	"encoding/binary"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtcp"

	"github.com/podium-sfu/podium/internal/rtpext"
	"github.com/podium-sfu/podium/sfu/clock"
)

// Upstream is what Podium tells a publisher about the media it receives: transport-wide
// feedback every 100 ms (without it Chromium never ramps up its top layer), NACKs for missing
// packets (when a gap opens, then again every 100 ms) and receiver reports every second. It
// replaces pion's three interceptors for these, which parse every packet into a freshly
// allocated header and hand each one to another goroutine over an unbuffered channel; here a
// packet costs a lock and a few stores, and it can be recorded from pion's read path (as an
// interceptor) or Podium's own (OnRTP). What it sends goes out on Podium's own write path
// when the connection has one (WriteDirect), else through pion.
//
// The feedback starts with the connection's first stream: most connections never receive one
// (every subscriber connection, and the publisher connection of who only watches). It ticks on
// the room's clock (UseClock), else on a clock of its own.
type Upstream struct {
	mu      sync.Mutex
	streams map[uint32]*upStream
	fb      *twcc.Recorder // pion's recorder: the feedback's format is subtle
	fbCount int            // packets recorded since the last feedback
	epoch   int64          // unix ns; transport-wide arrival times count from here
	ssrc    uint32         // Podium's SSRC in what it sends through pion
	writer  interceptor.RTCPWriter
	closed  bool
	clock   *clock.Clock // the room's; nil until the feedback starts without one
	ownsClk bool         // the clock is this connection's own: Close stops it
	ticks   int          // feedback ticks so far
	lastRun time.Time    // the last tick that ran (a faster clock's other ticks are skipped)
	unclock func()       // removes tick from the clock; non-nil once the feedback runs
	seqs    []uint16     // tick's scratch

	// Podium's own path to the publisher (WriteDirect; false: not ready), and the SSRC
	// of what goes on it. SRTCP numbers a sender SSRC's packets in each context: pion's session
	// and Podium's keep their own counts, so each path has an SSRC of its own, or two packets
	// could go out under one key with one index (with AES-GCM, one nonce).
	direct     func(compound []byte) bool
	directSSRC uint32

	// The connection's transport-wide sequence extension id (SetTransportCC; 0: not known),
	// for Arrived, which reads it from a packet's clear header before any stream is bound.
	twccID atomic.Uint32
}

// Intervals of the feedback a publisher gets.
const (
	upTick           = 100 * time.Millisecond // transport-wide feedback, NACKs asked again
	upReportInterval = time.Second
	upLogSize        = 1024 // sequence numbers a stream remembers (received or not)
	upNACKWindow     = 256  // how far back missing packets are asked for again
	upMaxNACKs       = 10   // times one missing packet is asked for (1 s)
	upImmediateNACKs = 64   // the largest gap asked for as soon as it opens
)

// upStream is one received RTP stream's state (RFC 3550 A.3 and A.8).
type upStream struct {
	ssrc      uint32
	clockRate float64
	twccID    uint8 // the transport-wide sequence number's extension id, 0: none

	started          bool
	maxExt           int64 // highest extended sequence number received
	baseExt          int64 // the first
	floorExt         int64 // NACK nothing before this (the first, or after a jump)
	received         int64
	expectedPrior    int64
	receivedPrior    int64
	lastTS           uint32
	lastArrival      int64
	jitter           float64 // RTP clock units
	lastSR, lastSRAt uint32  // middle 32 bits of the last sender report's NTP time; when (same units)
	hasSR            bool
	seen             [upLogSize / 64]uint64
	nacked           [upLogSize]uint8
}

// New makes the feedback of one publisher connection; InterceptorFactory makes one for each.
func New() *Upstream {
	ssrc, direct := rand.Uint32(), rand.Uint32()
	for direct == ssrc || direct == 0 {
		direct = rand.Uint32()
	}
	return &Upstream{streams: map[uint32]*upStream{}, fb: twcc.NewRecorder(ssrc), epoch: time.Now().UnixNano(),
		ssrc: ssrc, directSSRC: direct}
}

// WriteDirect makes the feedback go out on Podium's own path whenever w says it can.
func (u *Upstream) WriteDirect(w func(compound []byte) bool) {
	u.mu.Lock()
	u.direct = w
	u.mu.Unlock()
}

// AddStream starts tracking a received stream (pion's read path does it as the stream binds) (and the ticker, with the first one).
func (u *Upstream) AddStream(ssrc, clockRate uint32, twccID uint8) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if clockRate == 0 {
		clockRate = 90000
	}
	if _, ok := u.streams[ssrc]; !ok {
		u.streams[ssrc] = &upStream{ssrc: ssrc, clockRate: float64(clockRate), twccID: twccID}
	}
	u.startLocked()
}

// startLocked starts the feedback once there is a stream and somewhere to write.
func (u *Upstream) startLocked() {
	if u.closed || u.unclock != nil || u.writer == nil || len(u.streams) == 0 {
		return
	}
	if u.clock == nil {
		u.clock, u.ownsClk = clock.New(upTick), true
	}
	u.unclock = u.clock.Every(u.tick)
}

// UseClock makes the feedback tick on c; it must come before the first stream.
func (u *Upstream) UseClock(c *clock.Clock) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.unclock == nil {
		u.clock = c
	}
}

func (u *Upstream) removeStream(ssrc uint32) {
	u.mu.Lock()
	delete(u.streams, ssrc)
	u.mu.Unlock()
}

// SetTransportCC gives the transport-wide sequence extension id the connection negotiated.
func (u *Upstream) SetTransportCC(id uint8) { u.twccID.Store(uint32(id)) }

// Arrived records a packet's transport-wide sequence number as arrived at at (unix ns), the
// moment its datagram was read; b is the packet as received (SRTP leaves the header in the
// clear). Podium's media socket calls it for every RTP packet of the connection, on Podium's
// path or pion's: pion's path records a packet only when its reader gets to it, which for the
// first packets of a simulcast layer is after pion has read ahead for the layer's rid and the
// track was bound, tens to hundreds of milliseconds late. Feedback with such times (or
// without such packets) reads as queueing or loss, and Chromium's send estimate falls back
// just as a new layer starts. The Recorder keeps a packet's first time only. It does not
// allocate.
func (u *Upstream) Arrived(b []byte, at int64) {
	id := uint8(u.twccID.Load())
	if id == 0 || len(b) < 12 {
		return
	}
	ext := rtpext.Find(b, id)
	if len(ext) < 2 {
		return
	}
	u.mu.Lock()
	u.fb.Record(binary.BigEndian.Uint32(b[8:12]), binary.BigEndian.Uint16(ext), (at-u.epoch)/1000)
	u.fbCount++
	u.mu.Unlock()
}

// OnRTP records one received packet (b is its plain RTP) at now (unix ns). It does not
// allocate.
func (u *Upstream) OnRTP(b []byte, now int64) { u.onRTP(b, now, true) }

// OnRTPArrived is OnRTP for a packet Arrived has recorded already.
func (u *Upstream) OnRTPArrived(b []byte, now int64) { u.onRTP(b, now, false) }

func (u *Upstream) onRTP(b []byte, now int64, transportWide bool) {
	if len(b) < 12 {
		return
	}
	ssrc := binary.BigEndian.Uint32(b[8:12])
	u.mu.Lock()
	s := u.streams[ssrc]
	if s == nil {
		u.mu.Unlock()
		return
	}
	if transportWide && s.twccID != 0 {
		if ext := rtpext.Find(b, s.twccID); len(ext) >= 2 {
			u.fb.Record(ssrc, binary.BigEndian.Uint16(ext), (now-u.epoch)/1000)
			u.fbCount++
		}
	}
	from, to := s.record(binary.BigEndian.Uint16(b[2:4]), binary.BigEndian.Uint32(b[4:8]), now)
	if from == to || u.writer == nil || u.closed {
		u.mu.Unlock()
		return
	}
	// A new gap: ask for it at once rather than at the next tick. A loss inside a keyframe
	// burst is otherwise asked for when the burst has moved far ahead, and the resent packet
	// comes too late for the subscribers to place it (beyond their 64-packet windows).
	seqs := make([]uint16, 0, to-from)
	for ext := from; ext < to; ext++ {
		s.nacked[uint64(ext)%upLogSize]++
		seqs = append(seqs, uint16(ext))
	}
	nack := &rtcp.TransportLayerNack{SenderSSRC: u.ssrc, MediaSSRC: ssrc, Nacks: rtcp.NackPairsFromSequenceNumbers(seqs)}
	w, direct := u.writer, u.direct
	u.mu.Unlock()
	u.send(w, direct, []rtcp.Packet{nack})
}

// record updates the sequence, loss and jitter state with one packet. A gap it opens, small
// enough to ask for, is returned as [from, to) (extended sequence numbers; from == to: none).
func (s *upStream) record(seq uint16, ts uint32, now int64) (from, to int64) {
	if !s.started {
		s.started = true
		s.maxExt, s.baseExt, s.floorExt = int64(seq), int64(seq), int64(seq)
		s.mark(int64(seq))
		s.received = 1
		s.lastTS, s.lastArrival = ts, now
		return 0, 0
	}
	ext := s.extend(seq)
	switch d := ext - s.maxExt; {
	case d > upLogSize || d < -upLogSize:
		// The stream jumped (a restart): count from here, remember nothing before.
		clear(s.seen[:])
		clear(s.nacked[:])
		span := s.maxExt - s.baseExt // expected goes on counting from where it was
		s.maxExt, s.floorExt, s.baseExt = ext, ext, ext-span-1
	case d > 0:
		// The gap is missing until it comes; ext's own slot still holds the mark of the packet
		// a log's length before it.
		for m := s.maxExt + 1; m <= ext; m++ {
			s.unmark(m)
		}
		if d > 1 && d <= upImmediateNACKs+1 {
			from, to = s.maxExt+1, ext
		}
		s.maxExt = ext
	}
	if ext <= s.maxExt-upLogSize {
		return 0, 0 // too old to tell apart from what the log holds now
	}
	if !s.isMarked(ext) {
		s.received++
	}
	s.mark(ext)
	// Interarrival jitter (RFC 3550 A.8), from packets in order only.
	if ext == s.maxExt {
		transit := (float64(now-s.lastArrival)/1e9)*s.clockRate - float64(int32(ts-s.lastTS))
		if transit < 0 {
			transit = -transit
		}
		s.jitter += (transit - s.jitter) / 16
		s.lastTS, s.lastArrival = ts, now
	}
	return from, to
}

// extend places a 16-bit sequence number next to the highest one seen.
func (s *upStream) extend(seq uint16) int64 {
	delta := int64(int16(seq - uint16(s.maxExt)))
	return s.maxExt + delta
}

func (s *upStream) mark(ext int64) {
	i := uint64(ext) % upLogSize
	s.seen[i/64] |= 1 << (i % 64)
	s.nacked[i] = 0
}

func (s *upStream) unmark(ext int64) {
	i := uint64(ext) % upLogSize
	s.seen[i/64] &^= 1 << (i % 64)
	s.nacked[i] = 0
}

func (s *upStream) isMarked(ext int64) bool {
	i := uint64(ext) % upLogSize
	return s.seen[i/64]&(1<<(i%64)) != 0
}

// missing appends the sequence numbers to ask for again, counting each request.
func (s *upStream) missing(out []uint16) []uint16 {
	if !s.started {
		return out
	}
	for ext := max(s.maxExt-upNACKWindow, s.floorExt); ext < s.maxExt; ext++ {
		i := uint64(ext) % upLogSize
		if s.isMarked(ext) || s.nacked[i] >= upMaxNACKs {
			continue
		}
		s.nacked[i]++
		out = append(out, uint16(ext))
	}
	return out
}

// report is the stream's reception report now (RFC 3550 6.4.1, A.3).
func (s *upStream) report(now int64) rtcp.ReceptionReport {
	expected := s.maxExt - s.baseExt + 1
	lost := min(max(expected-s.received, 0), 0x7fffff)
	expInterval, recvInterval := expected-s.expectedPrior, s.received-s.receivedPrior
	s.expectedPrior, s.receivedPrior = expected, s.received
	var fraction uint8
	if lostInterval := expInterval - recvInterval; expInterval > 0 && lostInterval > 0 {
		fraction = uint8(lostInterval << 8 / expInterval)
	}
	r := rtcp.ReceptionReport{
		SSRC: s.ssrc, FractionLost: fraction, TotalLost: uint32(lost),
		LastSequenceNumber: uint32(s.maxExt), Jitter: uint32(s.jitter),
	}
	if s.hasSR {
		r.LastSenderReport = s.lastSR
		r.Delay = rtpext.NTPCompact(time.Unix(0, now)) - s.lastSRAt
	}
	return r
}

// OnRTCP takes the publisher's sender reports from a compound packet (for the reports' LSR and
// DLSR) without parsing the rest.
func (u *Upstream) OnRTCP(b []byte, now int64) {
	for part, rest, ok := rtpext.SplitRTCP(b); ok; part, rest, ok = rtpext.SplitRTCP(rest) {
		if part[1] == byte(rtcp.TypeSenderReport) && len(part) >= 28 {
			ssrc, ntp := binary.BigEndian.Uint32(part[4:8]), binary.BigEndian.Uint64(part[8:16])
			u.mu.Lock()
			if s := u.streams[ssrc]; s != nil {
				s.lastSR, s.lastSRAt, s.hasSR = uint32(ntp>>16), rtpext.NTPCompact(time.Unix(0, now)), true
			}
			u.mu.Unlock()
		}
	}
}

// tick sends what is due: NACKs asked again, the transport-wide feedback, and every second the
// receiver reports.
func (u *Upstream) tick(now time.Time) {
	var pkts []rtcp.Packet
	u.mu.Lock()
	if u.closed {
		u.mu.Unlock()
		return
	}
	// The room's clock may tick faster than the feedback runs (it samples speakers more
	// often): the feedback keeps its own interval.
	if now.Sub(u.lastRun) < upTick*3/4 {
		u.mu.Unlock()
		return
	}
	u.lastRun = now
	u.ticks++
	for _, s := range u.streams {
		if u.seqs = s.missing(u.seqs[:0]); len(u.seqs) > 0 {
			pkts = append(pkts, &rtcp.TransportLayerNack{SenderSSRC: u.ssrc, MediaSSRC: s.ssrc,
				Nacks: rtcp.NackPairsFromSequenceNumbers(u.seqs)})
		}
	}
	if u.fbCount > 0 {
		pkts = append(pkts, u.fb.BuildFeedbackPacket()...)
		u.fbCount = 0
	}
	if u.ticks%int(upReportInterval/upTick) == 0 {
		rr := &rtcp.ReceiverReport{SSRC: u.ssrc}
		for _, s := range u.streams {
			if s.started && len(rr.Reports) < 31 {
				rr.Reports = append(rr.Reports, s.report(now.UnixNano()))
			}
		}
		if len(rr.Reports) > 0 {
			pkts = append(pkts, rr)
		}
	}
	w, direct := u.writer, u.direct
	u.mu.Unlock()
	if len(pkts) > 0 {
		u.send(w, direct, pkts)
	}
}

// send writes a compound packet to the publisher on Podium's path when it is ready, else
// through pion.
func (u *Upstream) send(w interceptor.RTCPWriter, direct func([]byte) bool, pkts []rtcp.Packet) {
	if direct != nil {
		if b, err := rtcp.Marshal(pkts); err == nil {
			for part, rest, ok := rtpext.SplitRTCP(b); ok; part, rest, ok = rtpext.SplitRTCP(rest) {
				if len(part) >= 8 {
					binary.BigEndian.PutUint32(part[4:8], u.directSSRC) // each part's sender SSRC
				}
			}
			if direct(b) {
				return
			}
		}
	}
	_, _ = w.Write(pkts, nil)
}

// StreamStats are what the feedback knows of one received stream.
type StreamStats struct {
	Received    int64  // packets
	LastArrival int64  // unix ns, of the newest in order
	LastSR      uint32 // middle 32 bits of the last sender report's NTP time
}

// Stats describes the stream ssrc; false when it is not tracked.
func (u *Upstream) Stats(ssrc uint32) (StreamStats, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	s := u.streams[ssrc]
	if s == nil {
		return StreamStats{}, false
	}
	return StreamStats{Received: s.received, LastArrival: s.lastArrival, LastSR: s.lastSR}, true
}

// SSRCs are the sender SSRCs of what goes through pion and of what goes on Podium's path.
func (u *Upstream) SSRCs() (pion, direct uint32) { return u.ssrc, u.directSSRC }

// Close stops the feedback.
func (u *Upstream) Close() error {
	u.mu.Lock()
	if u.closed {
		u.mu.Unlock()
		return nil
	}
	u.closed = true
	unclock, own := u.unclock, u.ownsClk
	u.mu.Unlock()
	if unclock != nil {
		unclock()
	}
	if own {
		u.clock.Close()
	}
	return nil
}
