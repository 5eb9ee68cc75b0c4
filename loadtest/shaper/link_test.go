package shaper

import (
	"math"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

// offer sends size-byte datagrams at rate (bits/s) for d through l, on the test's clock from
// at, and returns what left the link and when.
func offer(l *Link, at time.Time, rate float64, size int, d time.Duration) (leaves []time.Time, delays []time.Duration, dropped int) {
	gap := time.Duration(float64(size*8) / rate * float64(time.Second))
	for now := at; now.Before(at.Add(d)); now = now.Add(gap) {
		leave, ok := l.Admit(now, size)
		if !ok {
			dropped++
			continue
		}
		leaves = append(leaves, leave)
		delays = append(delays, leave.Sub(now))
	}
	return leaves, delays, dropped
}

func kbps(bytes int, d time.Duration) float64 { return float64(bytes) * 8 / d.Seconds() / 1000 }

// An 800 kbps link offered twice that carries 800 kbps, in order and no faster than its rate,
// queues at most its buffer's worth (150 ms), and drops the rest at the tail.
func TestLinkCapsAndDropsAtTheTail(t *testing.T) {
	l := NewLink(Config{Rate: 800_000, QueueBytes: 15_000}, t0)
	leaves, delays, dropped := offer(l, t0, 1_600_000, 1000, 10*time.Second)
	for i := 1; i < len(leaves); i++ {
		if gap := leaves[i].Sub(leaves[i-1]); gap < 10*time.Millisecond-time.Microsecond {
			t.Fatalf("datagrams %d and %d left %v apart: faster than 1000 bytes at 800 kbps (10 ms)", i-1, i, gap)
		}
	}
	for _, d := range delays {
		if d > 150*time.Millisecond+time.Microsecond {
			t.Fatalf("a datagram waited %v: more than the 150 ms of buffer", d)
		}
	}
	bytes, binDrops, _ := Traffic(l.Bins(), l.Start(), t0.Add(time.Second), t0.Add(9*time.Second))
	if got := kbps(bytes, 8*time.Second); math.Abs(got-800) > 8 {
		t.Errorf("carried %.0f kbps, want 800", got)
	}
	if dropped < 980 || dropped > 1000 {
		t.Errorf("dropped %d of 2000 datagrams, want about half", dropped)
	}
	if binDrops < 790 || binDrops > 810 {
		t.Errorf("the bins of 1-9 s hold %d drops, want about 800", binDrops)
	}
}

// Under its rate a serializer (no burst) delays each datagram by its own size only; a bucket
// lets its depth through at once after a quiet spell, then serializes.
func TestLinkUnderItsRateAndBursts(t *testing.T) {
	l := NewLink(Config{Rate: 800_000, QueueBytes: 15_000}, t0)
	_, delays, dropped := offer(l, t0, 400_000, 1000, 2*time.Second)
	for _, d := range delays {
		if d != 10*time.Millisecond {
			t.Fatalf("a datagram under the rate waited %v, want its 10 ms at 800 kbps", d)
		}
	}
	if dropped != 0 {
		t.Errorf("%d dropped under the rate", dropped)
	}

	b := NewLink(Config{Rate: 800_000, QueueBytes: 15_000, Burst: 3000}, t0)
	at := t0.Add(time.Second) // the bucket is full
	for i, want := range []time.Duration{0, 0, 0, 10 * time.Millisecond, 20 * time.Millisecond} {
		leave, ok := b.Admit(at, 1000)
		if !ok || leave.Sub(at) != want {
			t.Errorf("datagram %d of a burst leaves after %v (admitted %v), want %v", i, leave.Sub(at), ok, want)
		}
	}
}

// A cap lifted from 800 kbps to 2.5 Mbps carries what is offered up to the new rate once what
// was queued at the old rate has left (150 ms); its buffer stays the bytes it was.
func TestLinkLift(t *testing.T) {
	l := NewLink(Config{Rate: 800_000, QueueBytes: 15_000}, t0)
	offer(l, t0, 2_000_000, 1000, 5*time.Second)
	lift := t0.Add(5 * time.Second)
	l.SetRate(lift, 2_500_000)
	if l.Rate() != 2_500_000 {
		t.Fatalf("rate %v after the lift", l.Rate())
	}
	offer(l, lift, 2_000_000, 1000, 5*time.Second)
	if _, dropped, _ := Traffic(l.Bins(), l.Start(), lift.Add(200*time.Millisecond), lift.Add(5*time.Second)); dropped != 0 {
		t.Errorf("%d dropped at 2 Mbps on a 2.5 Mbps link, once the old queue left", dropped)
	}
	bins, start := l.Bins(), l.Start()
	before, _, _ := Traffic(bins, start, t0.Add(time.Second), lift)
	after, _, _ := Traffic(bins, start, lift.Add(500*time.Millisecond), lift.Add(4500*time.Millisecond))
	if got := kbps(before, 4*time.Second); math.Abs(got-800) > 8 {
		t.Errorf("before the lift %.0f kbps, want 800", got)
	}
	if got := kbps(after, 4*time.Second); math.Abs(got-2000) > 20 {
		t.Errorf("after the lift %.0f kbps, want the 2000 offered", got)
	}
	took, ok := FirstAbove(bins, start, lift, 500*time.Millisecond, 1_200_000)
	// The 150 ms queue drains at 2.5 Mbps while 2 Mbps arrives: the first whole 500 ms window
	// after the lift is above 1.2 Mbps.
	if !ok || took != 500*time.Millisecond {
		t.Errorf("above 1.2 Mbps %v after the lift (found %v), want 500 ms", took, ok)
	}
	// At most the 15 kB queued at the lift adds to the 2 Mbps offered: 240 kbps over 500 ms.
	if _, ok := FirstAbove(bins, start, lift, 500*time.Millisecond, 2_300_000); ok {
		t.Error("found a window above 2.3 Mbps where 2 Mbps was offered")
	}
}

func TestFirstAboveAndTraffic(t *testing.T) {
	// 100 ms bins of 10 kB = 800 kbps, then 20 kB = 1.6 Mbps from 1.0 s.
	var bins []Bin
	for i := range 30 {
		b := Bin{Bytes: 10_000}
		if i >= 10 {
			b.Bytes = 20_000
		}
		bins = append(bins, b)
	}
	bins[3].Dropped = 2
	for _, c := range []struct {
		from time.Duration
		rate float64
		want time.Duration
		ok   bool
	}{
		{0, 1_200_000, 1300 * time.Millisecond, true},                      // bins 9-13 average 1.44 Mbps; 8-12 1.28; 7-11 1.12
		{1050 * time.Millisecond, 1_200_000, 550 * time.Millisecond, true}, // from bin 11 on
		{0, 700_000, 500 * time.Millisecond, true},
		{0, 1_600_000, 0, false},
	} {
		got, ok := FirstAbove(bins, t0, t0.Add(c.from), 500*time.Millisecond, c.rate)
		if got != c.want || ok != c.ok {
			t.Errorf("from %v above %.0f: %v %v, want %v %v", c.from, c.rate, got, ok, c.want, c.ok)
		}
	}
	bytes, dropped, span := Traffic(bins, t0, t0.Add(250*time.Millisecond), t0.Add(time.Second))
	if bytes != 70_000 || dropped != 2 || span != 700*time.Millisecond {
		t.Errorf("bins 3-9: %d bytes, %d drops over %v, want 70000 and 2 over 700ms", bytes, dropped, span)
	}
}

// Use reads a run off the bins: the capped part, the drops then, and the lift.
func TestUse(t *testing.T) {
	l := NewLink(Config{Rate: 800_000, QueueBytes: 15_000}, t0)
	offer(l, t0, 1_000_000, 1000, 5*time.Second)
	lift := t0.Add(5 * time.Second)
	l.SetRate(lift, 2_500_000)
	offer(l, lift, 2_000_000, 1000, 3*time.Second)
	u := l.Use(t0.Add(time.Second), lift, lift.Add(3*time.Second), 500*time.Millisecond, 1_200_000)
	if u.Seconds != 4 || math.Abs(u.Kbps-800) > 8 || u.Dropped < 90 || u.Dropped > 110 {
		t.Errorf("capped: %.1f s, %.0f kbps, %d dropped; want 4 s, 800 kbps, about 100 (a fifth of 1 Mbps)", u.Seconds, u.Kbps, u.Dropped)
	}
	if u.Found != 500*time.Millisecond || math.Abs(u.AfterKbps-2000) > 60 {
		t.Errorf("lifted: above 1.2 Mbps after %v, %.0f kbps after; want 500ms and 2000", u.Found, u.AfterKbps)
	}
	if u := l.Use(t0.Add(time.Second), lift, lift.Add(3*time.Second), 500*time.Millisecond, 2_600_000); u.Found != -1 {
		t.Errorf("found above 2.6 Mbps after %v on a 2.5 Mbps link", u.Found)
	}
	if u := l.Use(t0.Add(time.Second), time.Time{}, lift, 500*time.Millisecond, 0); u.Found != 0 || u.AfterKbps != 0 || u.Seconds != 4 {
		t.Errorf("without a lift: %+v", u)
	}
}
