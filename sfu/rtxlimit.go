package sfu

import (
	"time"
)

// Retransmissions are bounded, as a congestion-controlled sender must: a subscriber NACKs every
// missing packet again and again (pion's generator every 100 ms, without limit), and on a full
// path each answer is lost too, so unbounded answers turned a short overload into a storm of
// several Mbit/s that kept the path full for good (server/bwcap_test.go). As in libwebrtc, a
// packet is resent at most once per round trip, and the retransmission rate of a down track is
// a fraction of its media rate.
const (
	rtxMinInterval = 50 * time.Millisecond // between two resends of one packet, at least
	rtxShare       = 0.25                  // of the down track's media rate
	rtxFloor       = 16_000                // bits/s allowed even when little media flows
	rtxMeasure     = 500 * time.Millisecond
	rtxDefaultSize = 1200 // bytes charged per packet before the media rate is known
	rtxBurst       = 8    // packets that may be resent at once
)

type nackLimiter struct {
	resentAt [seqMapSize]int64 // unix ns of the last resend of an out sequence number
	resent   [seqMapSize]uint16
	tokens   float64 // bits
	refillAt int64
	// media rate of the down track, from its counters
	measureAt            int64
	lastBytes, lastPkts  uint64
	mediaBps, packetBits float64
}

// nackLimiter is made with the first NACK (most down tracks never get one); called under rtcpMu.
func (d *DownTrack) nackLimiter() *nackLimiter {
	if d.rtxLimit == nil {
		d.rtxLimit = &nackLimiter{packetBits: rtxDefaultSize * 8}
	}
	return d.rtxLimit
}

// allowRetransmit tells whether a NACKed packet may be resent now, and charges it if so.
func (d *DownTrack) allowRetransmit(l *nackLimiter, seq uint16, now int64) bool {
	if l.measureAt == 0 || now-l.measureAt >= int64(rtxMeasure) {
		bytes, pkts := d.bytes.Load(), d.packets.Load()
		if l.measureAt != 0 {
			secs := float64(now-l.measureAt) / 1e9
			l.mediaBps = float64(bytes-l.lastBytes) * 8 / secs
			if pkts > l.lastPkts {
				l.packetBits = float64(bytes-l.lastBytes) * 8 / float64(pkts-l.lastPkts)
			}
		}
		l.measureAt, l.lastBytes, l.lastPkts = now, bytes, pkts
	}
	rate := rtxShare*l.mediaBps + rtxFloor
	burst := max(rate/4, rtxBurst*l.packetBits) // a quarter second, or a few packets
	if l.refillAt == 0 {
		l.tokens = burst
	} else {
		l.tokens += rate * float64(now-l.refillAt) / 1e9
	}
	l.refillAt = now
	l.tokens = min(l.tokens, burst)
	minGap := max(int64(rtxMinInterval), int64(d.rttMicros.Load())*1000)
	i := seq % seqMapSize
	if l.resent[i] == seq && l.resentAt[i] != 0 && now-l.resentAt[i] < minGap {
		return false
	}
	if l.tokens < l.packetBits {
		return false
	}
	if d.rtxBudget != nil && !d.rtxBudget.take(l.packetBits, now) {
		return false // the connection's budget is spent (rtxbudget.go)
	}
	l.tokens -= l.packetBits
	l.resent[i], l.resentAt[i] = seq, now
	return true
}
