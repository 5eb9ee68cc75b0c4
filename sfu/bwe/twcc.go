package bwe

import "encoding/binary"

// twccReport is a transport-wide congestion control feedback packet (draft-holmer-rmcat-
// transport-wide-cc-extensions-01) read in place: the estimator reads ten of them a second
// from every subscriber, and pion's parser allocates for every packet status and delta.
type twccReport struct {
	baseSeq uint16
	count   int    // packet statuses
	refTime int64  // 24 bits, in 64 ms units
	chunks  []byte // the packet status chunks
	deltas  []byte // the receive deltas
}

// Packet status symbols.
const (
	twccNotReceived  = 0
	twccSmallDelta   = 1
	twccLargeDelta   = 2
	twccWithoutDelta = 3
)

func twccDeltaSize(sym uint16) int {
	switch sym {
	case twccSmallDelta:
		return 1
	case twccLargeDelta:
		return 2
	}
	return 0
}

// parseTWCC reads one feedback packet (its RTCP header included); false when it is malformed.
func parseTWCC(b []byte) (twccReport, bool) {
	var r twccReport
	if len(b) < 20 {
		return r, false
	}
	r.baseSeq = binary.BigEndian.Uint16(b[12:])
	r.count = int(binary.BigEndian.Uint16(b[14:]))
	r.refTime = int64(b[16])<<16 | int64(b[17])<<8 | int64(b[18])
	i, deltaBytes := 20, 0
	ok := forEachStatus(b[20:], r.count, func(sym uint16) { deltaBytes += twccDeltaSize(sym) }, &i)
	if !ok || i+deltaBytes > len(b) {
		return r, false
	}
	r.chunks, r.deltas = b[20:i], b[i:i+deltaBytes]
	return r, true
}

// forEachStatus calls fn for the first count statuses the chunks in b describe, and adds the
// bytes of chunks it read to *end. False when b ends first.
func forEachStatus(b []byte, count int, fn func(sym uint16), end *int) bool {
	done := 0
	for done < count {
		if len(b) < 2 {
			return false
		}
		c := binary.BigEndian.Uint16(b)
		b = b[2:]
		*end += 2
		switch {
		case c&0x8000 == 0: // run length: 2-bit symbol, 13-bit length
			sym, run := c>>13&3, min(int(c&0x1fff), count-done)
			for range run {
				fn(sym)
			}
			done += run
		case c&0x4000 == 0: // status vector of 14 one-bit symbols
			for k := 13; k >= 0 && done < count; k-- {
				fn(c >> k & 1)
				done++
			}
		default: // status vector of 7 two-bit symbols
			for k := 12; k >= 0 && done < count; k -= 2 {
				fn(c >> k & 3)
				done++
			}
		}
	}
	return true
}

// each calls fn for every packet status in sequence order with its receive delta (µs; 0 for
// a packet not received or received without a delta).
func (r *twccReport) each(fn func(seq uint16, sym uint16, deltaUs int64)) {
	seq, d, end := r.baseSeq, r.deltas, 0
	forEachStatus(r.chunks, r.count, func(sym uint16) {
		var delta int64
		switch sym {
		case twccSmallDelta:
			delta = int64(d[0]) * 250
			d = d[1:]
		case twccLargeDelta:
			delta = int64(int16(binary.BigEndian.Uint16(d))) * 250
			d = d[2:]
		}
		fn(seq, sym, delta)
		seq++
	}, &end)
}
