package rewrite

import "testing"

// step is one call in a scenario: a switch to a new layer at (seq, ts) or a packet to rewrite.
type step struct {
	switchTo bool
	tsStep   uint32
	seq      uint16
	ts       uint32
	vp8      VP8
	// expectations for Rewrite
	drop    bool
	outSeq  uint16
	outTS   uint32
	outPic  uint16
	outTL0  uint8
	outKey  uint8
	checkVP bool
}

func pic(id uint16, tl0, key uint8) VP8 {
	return VP8{HasPictureID: true, Wide: true, PictureID: id, HasTL0PICIDX: true, TL0PICIDX: tl0, HasKEYIDX: true, KEYIDX: key}
}

func run(t *testing.T, m *Munger, steps []step) {
	t.Helper()
	for i, s := range steps {
		if s.switchTo {
			m.Switch(s.seq, s.ts, s.tsStep, s.vp8)
		}
		seq, ts, v, ok := m.Rewrite(s.seq, s.ts, s.vp8)
		if ok == s.drop {
			t.Fatalf("step %d (src seq %d): ok=%v, want drop=%v", i, s.seq, ok, s.drop)
		}
		if !ok {
			continue
		}
		if seq != s.outSeq || ts != s.outTS {
			t.Fatalf("step %d: out seq %d ts %d, want %d %d", i, seq, ts, s.outSeq, s.outTS)
		}
		if s.checkVP && (v.PictureID != s.outPic || (v.HasTL0PICIDX && v.TL0PICIDX != s.outTL0) || (v.HasKEYIDX && v.KEYIDX != s.outKey)) {
			t.Fatalf("step %d: vp8 pic %d tl0 %d key %d, want %d %d %d", i, v.PictureID, v.TL0PICIDX, v.KEYIDX, s.outPic, s.outTL0, s.outKey)
		}
	}
}

func TestMunger(t *testing.T) {
	for _, tc := range []struct {
		name  string
		first uint16
		ts    uint32
		steps []step
	}{
		{"start keeps the first numbers", 1000, 5000, []step{
			{switchTo: true, seq: 40, ts: 90000, vp8: pic(7, 3, 1), outSeq: 1000, outTS: 5000, outPic: 7, outTL0: 3, outKey: 1, checkVP: true},
			{seq: 41, ts: 90000, vp8: pic(7, 3, 1), outSeq: 1001, outTS: 5000},
			{seq: 42, ts: 93000, vp8: pic(8, 4, 1), outSeq: 1002, outTS: 8000, outPic: 8, outTL0: 4, outKey: 1, checkVP: true},
		}},
		{"switch up continues seq, ts and picture ids", 1000, 5000, []step{
			{switchTo: true, seq: 40, ts: 90000, vp8: pic(7, 3, 1), outSeq: 1000, outTS: 5000},
			{seq: 41, ts: 93000, vp8: pic(8, 4, 1), outSeq: 1001, outTS: 8000},
			// the high layer has its own numbering entirely
			{switchTo: true, tsStep: 3000, seq: 60000, ts: 7, vp8: pic(30000, 200, 9), outSeq: 1002, outTS: 11000, outPic: 9, outTL0: 5, outKey: 2, checkVP: true},
			{seq: 60001, ts: 7, vp8: pic(30000, 200, 9), outSeq: 1003, outTS: 11000, outPic: 9, outTL0: 5, outKey: 2, checkVP: true},
			{seq: 60002, ts: 3007, vp8: pic(30001, 201, 9), outSeq: 1004, outTS: 14000, outPic: 10, outTL0: 6, outKey: 2, checkVP: true},
		}},
		{"switch down then up again", 0, 0, []step{
			{switchTo: true, seq: 500, ts: 100, outSeq: 0, outTS: 0},
			{switchTo: true, tsStep: 3000, seq: 9, ts: 400, outSeq: 1, outTS: 3000},
			{seq: 10, ts: 3400, outSeq: 2, outTS: 6000},
			{switchTo: true, tsStep: 1500, seq: 503, ts: 9100, outSeq: 3, outTS: 7500},
		}},
		{"old layer packets after the switch are dropped", 0, 0, []step{
			{switchTo: true, seq: 100, ts: 0, outSeq: 0, outTS: 0},
			{seq: 101, ts: 0, outSeq: 1, outTS: 0},
			{switchTo: true, tsStep: 3000, seq: 7000, ts: 50, outSeq: 2, outTS: 3000},
			// a reordered packet of the new layer from before its keyframe: dropped
			{seq: 6999, ts: 20, drop: true},
		}},
		{"loss just before a switch stays a gap", 10, 0, []step{
			{switchTo: true, seq: 1, ts: 0, outSeq: 10, outTS: 0},
			{seq: 2, ts: 0, outSeq: 11, outTS: 0},
			// 3 and 4 lost upstream, then 5 arrives: the gap is kept so the subscriber can NACK
			{seq: 5, ts: 3000, outSeq: 14, outTS: 3000},
			{switchTo: true, tsStep: 3000, seq: 800, ts: 1, outSeq: 15, outTS: 6000},
		}},
		{"loss just after a switch stays a gap", 10, 0, []step{
			{switchTo: true, seq: 1, ts: 0, outSeq: 10, outTS: 0},
			{switchTo: true, tsStep: 90, seq: 800, ts: 1, outSeq: 11, outTS: 90},
			{seq: 802, ts: 1, outSeq: 13, outTS: 90},
			{seq: 801, ts: 1, outSeq: 12, outTS: 90}, // the late one fills the gap
		}},
		{"reordering across a switch", 10, 0, []step{
			{switchTo: true, seq: 1, ts: 0, outSeq: 10, outTS: 0},
			{seq: 3, ts: 0, outSeq: 12, outTS: 0},
			{switchTo: true, tsStep: 3000, seq: 800, ts: 1, outSeq: 13, outTS: 3000},
			// a reordered old-layer packet can no longer be mapped: the DownTrack drops it because
			// it is not the current layer; a reordered new-layer packet maps normally
			{seq: 802, ts: 1, outSeq: 15, outTS: 3000},
			{seq: 801, ts: 1, outSeq: 14, outTS: 3000},
		}},
		{"duplicates are dropped", 0, 0, []step{
			{switchTo: true, seq: 1, ts: 0, outSeq: 0, outTS: 0},
			{seq: 2, ts: 0, outSeq: 1, outTS: 0},
			{seq: 2, ts: 0, drop: true},
			{seq: 1, ts: 0, drop: true},
			{seq: 3, ts: 0, outSeq: 2, outTS: 0},
		}},
		{"too old to tell is dropped", 0, 0, []step{
			{switchTo: true, seq: 1, ts: 0, outSeq: 0, outTS: 0},
			{seq: 200, ts: 0, outSeq: 199, outTS: 0},
			{seq: 100, ts: 0, drop: true},
		}},
		{"sequence wraparound at 65535", 65534, 0, []step{
			{switchTo: true, seq: 10, ts: 0, outSeq: 65534, outTS: 0},
			{seq: 11, ts: 0, outSeq: 65535, outTS: 0},
			{seq: 12, ts: 0, outSeq: 0, outTS: 0},
			{switchTo: true, tsStep: 3000, seq: 65535, ts: 0, outSeq: 1, outTS: 3000},
			{seq: 0, ts: 0, outSeq: 2, outTS: 3000},
		}},
		{"timestamp wraparound at 2^32", 0, 4294967000, []step{
			{switchTo: true, seq: 1, ts: 4294960000, outSeq: 0, outTS: 4294967000},
			{seq: 2, ts: 4294963000, outSeq: 1, outTS: 4294967000 + 3000 - 1<<32},
			{switchTo: true, tsStep: 3000, seq: 50, ts: 12, outSeq: 2, outTS: 4294967000 + 6000 - 1<<32},
		}},
		{"picture id wraps at 0x7FFF", 0, 0, []step{
			{switchTo: true, seq: 1, ts: 0, vp8: pic(0x7FFE, 255, 31), outSeq: 0, outPic: 0x7FFE, outTL0: 255, outKey: 31, checkVP: true},
			{seq: 2, ts: 3000, vp8: pic(0x7FFF, 0, 31), outSeq: 1, outTS: 3000, outPic: 0x7FFF, outTL0: 0, outKey: 31, checkVP: true},
			{switchTo: true, tsStep: 3000, seq: 90, ts: 0, vp8: pic(100, 40, 3), outSeq: 2, outTS: 6000, outPic: 0, outTL0: 1, outKey: 0, checkVP: true},
			{seq: 91, ts: 3000, vp8: pic(101, 41, 3), outSeq: 3, outTS: 9000, outPic: 1, outTL0: 2, outKey: 0, checkVP: true},
		}},
		{"7-bit picture ids wrap at 0x7F", 0, 0, []step{
			{switchTo: true, seq: 1, ts: 0, vp8: VP8{HasPictureID: true, PictureID: 0x7F}, outSeq: 0, outPic: 0x7F, checkVP: true},
			{switchTo: true, tsStep: 1, seq: 9, ts: 0, vp8: VP8{HasPictureID: true, PictureID: 5}, outSeq: 1, outTS: 1, outPic: 0, outKey: 0, checkVP: true},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { run(t, New(tc.first, tc.ts), tc.steps) })
	}
}

func TestNotStartedDropsEverything(t *testing.T) {
	m := New(0, 0)
	if _, _, _, ok := m.Rewrite(1, 1, VP8{}); ok || m.Started() {
		t.Fatal("a munger that never switched forwarded a packet")
	}
}

func TestOffsetsReplayAnOldPacket(t *testing.T) {
	m := New(100, 0)
	m.Switch(5, 1000, 0, pic(10, 1, 1))
	seq, ts, v, _ := m.Rewrite(6, 4000, pic(11, 2, 1))
	off := m.Offsets()
	m.Switch(900, 50, 3000, pic(500, 90, 4)) // a later switch must not change how 6 maps
	if v2 := off.Apply(pic(11, 2, 1)); uint16(6)-off.Seq != seq || uint32(4000)-off.TS != ts || v2 != v {
		t.Fatalf("offsets saved before a switch do not reproduce the packet: %d %d %+v", uint16(6)-off.Seq, uint32(4000)-off.TS, v2)
	}
}

func TestPaddingKeepsTheSequenceContinuous(t *testing.T) {
	m := New(100, 0)
	m.Switch(7, 500, 0, VP8{})
	m.Rewrite(7, 500, VP8{})
	first, ts, ok := m.ReservePadding(3)
	if !ok || first != 101 || ts != 0 {
		t.Fatalf("padding got %d %d %v, want 101..103 at ts 0", first, ts, ok)
	}
	if seq, _, _, ok := m.Rewrite(8, 3500, VP8{}); !ok || seq != 104 {
		t.Fatalf("media after padding got seq %d, want 104", seq)
	}
}

// TestPaddingBeforeTheFirstPacket: a video paused before it started is probed with padding,
// numbered from the random start; the first media packet then follows the padding, at the
// random first timestamp.
func TestPaddingBeforeTheFirstPacket(t *testing.T) {
	m := New(65534, 9000)
	first, ts, ok := m.ReservePadding(3)
	if !ok || first != 65534 || ts != 9000 {
		t.Fatalf("padding before the first packet got %d %d %v, want 65534..0 at ts 9000", first, ts, ok)
	}
	m.Switch(500, 123456, 3000, pic(7, 3, 1))
	seq, outTS, _, ok := m.Rewrite(500, 123456, pic(7, 3, 1))
	if !ok || seq != 1 || outTS != 9000 {
		t.Fatalf("the first media packet after padding got seq %d ts %d (%v), want 1 at 9000", seq, outTS, ok)
	}
	if seq, _, _, ok := m.Rewrite(501, 126456, pic(8, 3, 1)); !ok || seq != 2 {
		t.Fatalf("the next media packet got seq %d (%v), want 2", seq, ok)
	}
}

// TestLongRunOnOneLayer: a track that stays on one layer forwards every packet, however long.
// The first source number of the layer used to stay where the switch put it, so from the
// 32,768th packet on every packet read as older than the switch and was dropped, for the next
// 32,768 (a camera froze after about 4 minutes, a microphone after 11).
func TestLongRunOnOneLayer(t *testing.T) {
	m := New(1000, 0)
	m.Switch(50000, 0, 1, VP8{})
	src, want := uint16(50000), uint16(1000)
	for i := range 200_000 {
		out, _, _, ok := m.Rewrite(src, uint32(i)*3000, VP8{})
		if !ok || out != want {
			t.Fatalf("packet %d (source %d): forwarded %v as %d, want %d", i, src, ok, out, want)
		}
		src++
		want++
	}
	// A late packet well within the window is still a retransmission, not a new one.
	if _, _, _, ok := m.Rewrite(src-10, 0, VP8{}); ok {
		t.Fatal("a duplicate 10 behind was forwarded")
	}
}

// TestForwardJumpIsNew: a source that jumps far ahead (a restarted encoder keeping its SSRC)
// is followed at once, not taken for packets from before the switch until it wraps around.
func TestForwardJumpIsNew(t *testing.T) {
	m := New(1000, 0)
	m.Switch(100, 0, 1, VP8{})
	for i := range 10 {
		if _, _, _, ok := m.Rewrite(uint16(100+i), 0, VP8{}); !ok {
			t.Fatal("in-order packet dropped")
		}
	}
	for _, seq := range []uint16{100 + 30000, 100 + 30001, 100 + 30002} {
		if _, _, _, ok := m.Rewrite(seq, 0, VP8{}); !ok {
			t.Fatalf("packet %d after a jump of 30,000 dropped", seq)
		}
	}
	if _, _, _, ok := m.Rewrite(99, 0, VP8{}); ok {
		t.Fatal("a packet from before the switch was forwarded")
	}
}

// TestHalfTheSpaceBehindIsDropped: a packet exactly 32,768 behind the highest sent is too old.
// (The window test negated an int16, and -(-32768) is -32768: it passed as new.)
func TestHalfTheSpaceBehindIsDropped(t *testing.T) {
	m := New(0, 0)
	m.Switch(0, 0, 1, VP8{})
	for seq := uint16(0); seq < 40000; seq++ {
		if _, _, _, ok := m.Rewrite(seq, 0, VP8{}); !ok {
			t.Fatalf("packet %d dropped", seq)
		}
	}
	if _, _, _, ok := m.Rewrite(39999-32768, 0, VP8{}); ok {
		t.Fatal("a packet 32,768 behind the highest was forwarded")
	}
}

// TestDropClosesUp: the packets of a dropped picture leave no gap in the subscriber's sequence
// numbers or picture ids, and a late packet from before the drop keeps the number it had.
func TestDropClosesUp(t *testing.T) {
	m := New(100, 0)
	m.Switch(10, 0, 0, pic(50, 5, 1))
	expect := func(seq uint16, v VP8, wantSeq, wantPic uint16) {
		t.Helper()
		out, _, ov, ok := m.Rewrite(seq, 0, v)
		if !ok || out != wantSeq || ov.PictureID != wantPic {
			t.Fatalf("source %d (picture %d): sent %v as %d picture %d, want %d picture %d", seq, v.PictureID, ok, out, ov.PictureID, wantSeq, wantPic)
		}
	}
	expect(10, pic(50, 5, 1), 100, 50)
	// 11 is lost for now; picture 51 (12, 13) is dropped, picture 52 follows it without a gap.
	m.Drop(12, pic(51, 5, 1))
	m.Drop(13, pic(51, 5, 1))
	expect(14, pic(52, 5, 1), 102, 51)
	// The retransmission of 11 (picture 50's second packet) takes the place it had.
	expect(11, pic(50, 5, 1), 101, 50)
	// Two dropped pictures in a row, then one more packet.
	m.Drop(15, pic(53, 5, 1))
	m.Drop(16, pic(54, 5, 1))
	expect(17, pic(55, 6, 1), 103, 52)
	// A packet of a dropped picture that comes late leaves a hole: nothing moves.
	m.Drop(12, pic(51, 5, 1))
	expect(18, pic(55, 6, 1), 104, 52)
	// Its offsets reproduce a forwarded packet for a NACK, as for a switch.
	off := m.Offsets()
	if uint16(18)-off.Seq != 104 || off.Apply(pic(55, 6, 1)).PictureID != 52 {
		t.Fatalf("offsets %+v do not reproduce the last packet", off)
	}
}

// TestDropsOverManyPictures: a temporal layer dropped for a long run (every other picture, as
// when the top of three temporal layers is left out) keeps the numbering continuous, and the
// remembered changes stay bounded.
func TestDropsOverManyPictures(t *testing.T) {
	m := New(0, 0)
	m.Switch(0, 0, 0, pic(0, 0, 0))
	wantSeq, wantPic := uint16(0), uint16(0)
	seq := uint16(0)
	for picture := range uint16(5000) {
		for range 2 { // two packets a picture
			v := pic(picture&0x7fff, 0, 0)
			if picture%2 == 1 {
				m.Drop(seq, v)
			} else {
				out, _, ov, ok := m.Rewrite(seq, 0, v)
				if !ok || out != wantSeq || ov.PictureID != wantPic {
					t.Fatalf("picture %d, source %d: sent %v as %d picture %d, want %d picture %d", picture, seq, ok, out, ov.PictureID, wantSeq, wantPic)
				}
				wantSeq++
			}
			seq++
		}
		if picture%2 == 0 {
			wantPic++
		}
	}
	if m.nChanges > historySize {
		t.Fatalf("%d changes remembered", m.nChanges)
	}
}

// TestPaddingLeavesALatePacketItsNumber: a publisher's retransmission of a packet from before
// padding is numbered as it would have been, not after the padding.
func TestPaddingLeavesALatePacketItsNumber(t *testing.T) {
	m := New(100, 0)
	m.Switch(7, 500, 0, VP8{})
	m.Rewrite(7, 500, VP8{})
	m.Rewrite(9, 500, VP8{}) // 8 is lost for now: 102 waits for it
	if first, _, _ := m.ReservePadding(3); first != 103 {
		t.Fatalf("padding starts at %d, want 103", first)
	}
	if seq, _, _, ok := m.Rewrite(8, 500, VP8{}); !ok || seq != 101 {
		t.Fatalf("the late packet got %d (%v), want 101", seq, ok)
	}
	if seq, _, _, ok := m.Rewrite(10, 500, VP8{}); !ok || seq != 106 {
		t.Fatalf("the next packet got %d (%v), want 106", seq, ok)
	}
}
