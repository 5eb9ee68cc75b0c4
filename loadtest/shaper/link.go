// Package shaper is the network of the load generator's simulated clients: large socket
// buffers (BigBuffers), and a capped downlink: a drop-tail token bucket in front of a client's
// UDP sockets, in process, on loopback, without root or tc. Link is the bottleneck's arithmetic
// on a clock passed in (tested on its own); Net wraps a client's network so that every
// datagram it receives crosses the link first.
package shaper

import (
	"sync"
	"time"
)

// BinWidth is the resolution of what a link records of its traffic.
const BinWidth = 100 * time.Millisecond

// Config is a link's shape.
type Config struct {
	Rate float64 // bits per second
	// QueueBytes bounds what waits for tokens; a datagram that would overflow it is dropped
	// (drop-tail). It stays when the rate changes, as a router's buffer does.
	QueueBytes int
	// Burst is the bucket's depth in bytes: what may pass at once after a quiet spell. 0 is a
	// plain serializer: every datagram waits its own size at the rate.
	Burst int
}

// Bin is what the link did in one BinWidth: bytes delivered (counted when they leave the
// link) and datagrams dropped (counted when they arrived).
type Bin struct {
	Bytes   int
	Dropped int
}

// Link is one client's downlink: datagrams leave one after another at the rate, wait in order
// in a queue of at most QueueBytes, and are dropped when it is full; after a quiet spell a
// bucket of Burst bytes lets some through at once. Sizes are UDP payloads (the datagrams the
// server sends), not their IP and UDP headers. Safe for concurrent use: the sockets of one
// client's connections share their link.
type Link struct {
	mu     sync.Mutex
	cfg    Config
	start  time.Time // the bins' origin
	busy   time.Time // when the last datagram admitted leaves
	last   time.Time // when tokens were last brought up to date
	tokens float64   // bytes
	held   []held    // admitted and not yet left, in order
	bytes  int       // their sizes
	bins   []Bin
}

// held is a datagram in the link: the queue's bound counts it until it leaves.
type held struct {
	leave time.Time
	size  int
}

// NewLink returns a link of this shape whose bins start at start.
func NewLink(cfg Config, start time.Time) *Link {
	return &Link{cfg: cfg, start: start, busy: start, last: start, tokens: float64(cfg.Burst)}
}

// refillLocked adds the tokens of the idle time between l.last and now, up to the depth.
func (l *Link) refillLocked(now time.Time) {
	from := l.last
	if l.busy.After(from) {
		from = l.busy
	}
	if now.After(from) {
		l.tokens = min(float64(l.cfg.Burst), l.tokens+now.Sub(from).Seconds()*l.cfg.Rate/8)
	}
	if now.After(l.last) {
		l.last = now
	}
}

// Admit takes a datagram of size bytes that arrived at now and returns when it leaves the link,
// or false when the queue cannot hold it.
func (l *Link) Admit(now time.Time, size int) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refillLocked(now)
	n := float64(size)
	if !l.busy.After(now) && l.tokens >= n {
		l.tokens -= n
		l.addLocked(now, size, 0)
		return now, true
	}
	start, need := now, n
	if l.busy.After(now) {
		start = l.busy
	} else {
		need, l.tokens = n-l.tokens, 0 // an idle link's tokens go to this datagram first
	}
	l.leftLocked(now)
	if l.bytes+size > l.cfg.QueueBytes {
		l.addLocked(now, 0, 1)
		return time.Time{}, false
	}
	l.busy = start.Add(time.Duration(need * 8 / l.cfg.Rate * float64(time.Second)))
	l.held = append(l.held, held{l.busy, size})
	l.bytes += size
	l.addLocked(l.busy, size, 0)
	return l.busy, true
}

// leftLocked forgets the datagrams that have left by now.
func (l *Link) leftLocked(now time.Time) {
	i := 0
	for i < len(l.held) && !l.held[i].leave.After(now) {
		l.bytes -= l.held[i].size
		i++
	}
	if i > 0 {
		l.held = append(l.held[:0], l.held[i:]...)
	}
}

// SetRate changes the rate from now on (a cap lifted, or lowered). Datagrams already admitted
// keep their times: a lift takes effect once what was queued has left (at most the queue's
// worth at the old rate), as on a link whose queue was filled before it widened.
func (l *Link) SetRate(now time.Time, rate float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refillLocked(now)
	l.cfg.Rate = rate
}

// Rate is the link's rate now (bits per second).
func (l *Link) Rate() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cfg.Rate
}

func (l *Link) addLocked(at time.Time, bytes, dropped int) {
	i := int(at.Sub(l.start) / BinWidth)
	if i < 0 {
		i = 0
	}
	for len(l.bins) <= i {
		l.bins = append(l.bins, Bin{})
	}
	l.bins[i].Bytes += bytes
	l.bins[i].Dropped += dropped
}

// Bins returns a copy of what the link recorded, one Bin per BinWidth from its start.
func (l *Link) Bins() []Bin {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Bin(nil), l.bins...)
}

// Start is the origin of the bins.
func (l *Link) Start() time.Time { return l.start }

// Traffic sums the bins that lie wholly within [from, to): bytes delivered and datagrams
// dropped, and the time those bins span.
func Traffic(bins []Bin, start, from, to time.Time) (bytes, dropped int, span time.Duration) {
	for i, b := range bins {
		at := start.Add(time.Duration(i) * BinWidth)
		if !at.Before(from) && at.Add(BinWidth).Compare(to) <= 0 {
			bytes += b.Bytes
			dropped += b.Dropped
			span += BinWidth
		}
	}
	return bytes, dropped, span
}

// FirstAbove returns how long after from the link first carried more than rate (bits per
// second) on average over window: the end of the first such window of bins, all of them at or
// after from. False when none did.
func FirstAbove(bins []Bin, start, from time.Time, window time.Duration, rate float64) (time.Duration, bool) {
	n := max(int(window/BinWidth), 1)
	first := int((from.Sub(start) + BinWidth - 1) / BinWidth) // the first bin wholly after from
	sum := 0
	for i := max(first, 0); i < len(bins); i++ {
		sum += bins[i].Bytes
		if i-n >= first {
			sum -= bins[i-n].Bytes
		}
		if i+1-first >= n && float64(sum)*8/(float64(n)*BinWidth.Seconds()) > rate {
			end := start.Add(time.Duration(i+1) * BinWidth)
			return end.Sub(from), true
		}
	}
	return 0, false
}

// Use is what a link carried over a run whose rate was lifted (or not): at the first rate from
// a window's start to the lift, and how soon after the lift it carried more.
type Use struct {
	Seconds float64 // the whole bins at the first rate
	Kbps    float64 // delivered then
	Dropped int     // datagrams dropped then
	// AfterKbps is what it delivered from the lift to the end; Found is from the lift to the
	// end of the first window whose average exceeded the rate asked (-1: none before the end).
	AfterKbps float64
	Found     time.Duration
}

// Use summarises the link from from to to, lifted at lift (zero: never), looking for the first
// window after the lift above rate bits/s.
func (l *Link) Use(from, lift, to time.Time, window time.Duration, rate float64) Use {
	bins := l.Bins()
	end := to
	if !lift.IsZero() {
		end = lift
	}
	var u Use
	bytes, dropped, span := Traffic(bins, l.start, from, end)
	u.Seconds, u.Dropped = span.Seconds(), dropped
	if span > 0 {
		u.Kbps = float64(bytes) * 8 / span.Seconds() / 1000
	}
	if lift.IsZero() {
		return u
	}
	if after, _, span := Traffic(bins, l.start, lift, to); span > 0 {
		u.AfterKbps = float64(after) * 8 / span.Seconds() / 1000
	}
	u.Found = -1
	if took, ok := FirstAbove(bins, l.start, lift, window, rate); ok && took <= to.Sub(lift) {
		u.Found = took
	}
	return u
}
