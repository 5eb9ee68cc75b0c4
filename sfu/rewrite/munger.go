// Package rewrite keeps one subscriber's view of a video continuous while the SFU switches the
// simulcast layer it forwards and leaves out temporal layers: sequence numbers without gaps
// (except real losses), timestamps that keep moving forward, and continuous VP8 PictureID,
// TL0PICIDX and KEYIDX. It is pure: no I/O, no clock, no locks; the caller serialises calls.
package rewrite

// VP8 carries the VP8 payload descriptor fields that need rewriting (zero value: not VP8).
type VP8 struct {
	HasPictureID bool
	PictureID    uint16
	Wide         bool // 15-bit picture id (else 7-bit)
	HasTL0PICIDX bool
	TL0PICIDX    uint8
	HasKEYIDX    bool
	KEYIDX       uint8
}

// Offsets map source numbers to the subscriber's: out = src - offset (modulo each field's size).
// They change at a switch, at padding and at a dropped packet; a NACK for an old packet is
// rewritten with the offsets that were in force when it was first sent.
type Offsets struct {
	Seq       uint16
	TS        uint32
	PictureID uint16
	TL0       uint8
	KeyIdx    uint8
}

// Apply rewrites a VP8 descriptor with these offsets.
func (o Offsets) Apply(v VP8) VP8 {
	if v.HasPictureID {
		mask := uint16(0x7F)
		if v.Wide {
			mask = 0x7FFF
		}
		v.PictureID = (v.PictureID - o.PictureID) & mask
	}
	v.TL0PICIDX -= o.TL0
	v.KEYIDX = (v.KEYIDX - o.KeyIdx) & 0x1F
	return v
}

// FirstSrcLag is how far behind the newest source packet the munger stops forwarding older ones.
const FirstSrcLag = 1 << 13

// Munger holds the state of one down track's numbering.
type Munger struct {
	started  bool
	off      Offsets // in force for source packets from changes[last].from on
	used     Offsets // what the last Rewrite applied
	firstSrc uint16  // first source sequence number of the current layer: older ones are dropped
	newest   uint16  // newest source sequence number forwarded or dropped since the switch
	highest  uint16  // highest outgoing sequence number sent
	sent     uint64  // bit i: highest-i was sent (duplicate detection)
	lastTS   uint32  // outgoing timestamp of the highest packet
	lastVP8  VP8     // outgoing VP8 fields of the highest packet
	// changes are the offsets in force before the latest ones, so that a packet that comes late
	// (a publisher's retransmission) is numbered as its neighbours were.
	changes    [historySize]change
	nChanges   int
	lastChange int
	droppedPic uint16 // picture id of the last dropped packet, when hasDropped
	hasDropped bool
}

// change is a set of offsets and the first source sequence number they apply to.
type change struct {
	from uint16
	off  Offsets
}

// historySize bounds the offset changes remembered. A dropped picture (one per frame of a
// temporal layer left out) makes one: enough for a packet a second late at 30 frames a second.
const historySize = 32

// New starts numbering at the given outgoing sequence number and timestamp (random, per RFC 3550).
func New(firstSeq uint16, firstTS uint32) *Munger {
	return &Munger{highest: firstSeq - 1, lastTS: firstTS}
}

// Started reports whether a first layer has been switched to.
func (m *Munger) Started() bool { return m.started }

// Offsets are the offsets the last Rewrite applied: what a NACK for that packet needs.
func (m *Munger) Offsets() Offsets { return m.used }

// Switch makes the packet (seq, ts, vp8) — the first packet of a keyframe of the new layer — the
// next packet the subscriber sees: its sequence number follows the last one sent, its timestamp
// is tsStep after the last one (the caller measures the step from the wall clock, since layers
// have unrelated timestamp bases), and VP8 picture ids continue from the last ones.
func (m *Munger) Switch(seq uint16, ts uint32, tsStep uint32, vp8 VP8) {
	if tsStep == 0 {
		tsStep = 1
	}
	m.off.Seq = seq - (m.highest + 1)
	m.off.TS = ts - (m.lastTS + tsStep)
	if !m.started {
		m.off.TS = ts - m.lastTS
	}
	if m.started {
		m.off.PictureID = vp8.PictureID - (m.lastVP8.PictureID + 1)
		m.off.TL0 = vp8.TL0PICIDX - (m.lastVP8.TL0PICIDX + 1)
		m.off.KeyIdx = vp8.KEYIDX - (m.lastVP8.KEYIDX + 1)
	}
	m.firstSrc, m.newest = seq, seq-1
	m.changes[0] = change{seq, m.off}
	m.nChanges, m.lastChange = 1, 0
	m.hasDropped = false
	m.started = true
}

// change makes off the offsets of source packets from seq from on; a change at the same place
// as the last one replaces it (a run of dropped packets is one change).
func (m *Munger) change(from uint16, off Offsets) {
	m.off = off
	if m.changes[m.lastChange].from == from-1 && m.nChanges > 0 && m.changes[m.lastChange].off.Seq == off.Seq-1 {
		// A drop right after the last one: the packet between them is the one dropped.
		m.changes[m.lastChange] = change{from, off}
		return
	}
	m.lastChange = (m.lastChange + 1) % historySize
	m.changes[m.lastChange] = change{from, off}
	m.nChanges = min(m.nChanges+1, historySize)
}

// offsetsFor finds the offsets in force for source packet seq; false when it is older than
// every change remembered.
func (m *Munger) offsetsFor(seq uint16) (Offsets, bool) {
	for i, j := 0, m.lastChange; i < m.nChanges; i, j = i+1, (j+historySize-1)%historySize {
		if int16(seq-m.changes[j].from) >= 0 {
			return m.changes[j].off, true
		}
	}
	return Offsets{}, false
}

// advance notes the newest source packet handled. The changes stay within FirstSrcLag of it, as
// firstSrc does: further back every packet is too old, and the sequence numbers they start from
// would read as ahead once half the sequence space went by.
func (m *Munger) advance(seq uint16) {
	if int16(seq-m.newest) <= 0 {
		return
	}
	m.newest = seq
	if last := &m.changes[m.lastChange]; seq-last.from > FirstSrcLag {
		last.from = seq - FirstSrcLag
		m.nChanges = 1
	}
}

// Drop leaves out a source packet of the current layer: one of a frame in a temporal layer
// the subscriber does not get. The packets after it close up, and so do the picture ids after
// its picture, so that the subscriber sees neither a loss nor a missing picture. A packet that
// comes after newer ones were handled cannot close up: it leaves a hole (the subscriber's
// NACK for it goes unanswered).
func (m *Munger) Drop(seq uint16, vp8 VP8) {
	if !m.started || int16(seq-m.newest) <= 0 {
		return
	}
	m.advance(seq)
	off := m.off
	off.Seq++
	if vp8.HasPictureID && (!m.hasDropped || m.droppedPic != vp8.PictureID) {
		off.PictureID++
		m.droppedPic, m.hasDropped = vp8.PictureID, true
	}
	m.change(seq+1, off)
}

// Rewrite maps one source packet of the current layer. ok is false for a packet to drop: from
// before the switch, a duplicate, or too old to tell.
func (m *Munger) Rewrite(seq uint16, ts uint32, vp8 VP8) (outSeq uint16, outTS uint32, outVP8 VP8, ok bool) {
	if !m.started {
		return 0, 0, vp8, false
	}
	off := m.off
	if int16(seq-m.newest) <= 0 && int16(seq-m.changes[m.lastChange].from) < 0 {
		var known bool
		if off, known = m.offsetsFor(seq); !known {
			return 0, 0, vp8, false
		}
	}
	outSeq = seq - off.Seq
	d := int16(outSeq - m.highest)
	if d <= 0 && int16(seq-m.firstSrc) < 0 {
		return 0, 0, vp8, false // from before the switch (a newer packet is new, however far it jumps)
	}
	outTS = ts - off.TS
	outVP8 = off.Apply(vp8)
	m.used = off
	m.advance(seq)
	switch {
	case d > 0:
		if d >= 64 {
			m.sent = 0
		} else {
			m.sent <<= uint(d)
		}
		m.sent |= 1
		m.highest, m.lastTS = outSeq, outTS
		m.lastVP8 = outVP8
		// firstSrc follows at a distance: left where the switch put it, it would be half the
		// sequence space behind after 32,768 packets, and every packet would then read as older
		// than the switch (a track on one layer went silent after 3-11 minutes). Anything this
		// far back is dropped as too old anyway.
		if seq-m.firstSrc > FirstSrcLag {
			m.firstSrc = seq - FirstSrcLag
		}
	case d <= -64: // not -d >= 64: -(-32768) overflows
		return 0, 0, vp8, false
	default:
		bit := uint64(1) << uint(-d)
		if m.sent&bit != 0 {
			return 0, 0, vp8, false
		}
		m.sent |= bit
	}
	return outSeq, outTS, outVP8, true
}

// ReservePadding takes n sequence numbers after the highest sent, for padding-only packets
// (bandwidth probes), and returns the first one and the timestamp to use. Later media keeps
// following them without a gap. Before the first switch the padding starts at the random first
// sequence number and timestamp: a video paused before it ever started (the estimate fell too
// low) has only padding to probe with.
func (m *Munger) ReservePadding(n int) (first uint16, ts uint32, ok bool) {
	if n <= 0 {
		return 0, 0, false
	}
	first = m.highest + 1
	m.highest += uint16(n)
	if m.started {
		off := m.off
		off.Seq -= uint16(n)
		m.change(m.newest+1, off) // a late packet from before keeps its number
	}
	if n >= 64 {
		m.sent = 1<<64 - 1
	} else {
		m.sent = m.sent<<uint(n) | (1<<uint(n) - 1)
	}
	return first, m.lastTS, true
}
