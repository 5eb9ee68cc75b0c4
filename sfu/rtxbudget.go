package sfu

import (
	"sync"
	"time"
)

// RetransmitBudget bounds the retransmissions of all the down tracks of one subscriber
// connection together, as libwebrtc's pacer bounds media, retransmissions and padding by one
// target rate. Each down track's own bound (rtxlimit.go) is a share of its media rate: on a
// capped link with eight tracks those shares summed to a quarter of the link, every resend of a
// packet the full queue dropped filled the queue again, and the link stayed full and lossy.
// The allocator sets the rate from the subscriber's estimate (SetRate); until then, and without
// an estimator, only the tracks' own bounds apply.
type RetransmitBudget struct {
	mu     sync.Mutex
	rate   float64 // bits/s; 0: unbounded
	tokens float64 // bits
	at     int64   // unix ns of the last refill
}

// rtxBudgetWindow is the burst the budget allows: this long at its rate, or rtxBurst packets.
const rtxBudgetWindow = 250 * time.Millisecond

// SetRate sets how many bits a second the connection may spend on retransmissions (≤ 0:
// unbounded).
func (b *RetransmitBudget) SetRate(bps int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if bps <= 0 {
		b.rate, b.at = 0, 0
		return
	}
	b.rate = float64(bps)
}

// take charges a resend of bits at now (unix ns), or refuses it when the budget is spent.
// The first charge after a rate is set starts from a full burst.
func (b *RetransmitBudget) take(bits float64, now int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.rate == 0 {
		return true
	}
	burst := max(b.rate*rtxBudgetWindow.Seconds(), rtxBurst*bits)
	if b.at == 0 {
		b.tokens = burst
	} else if now > b.at {
		b.tokens = min(burst, b.tokens+b.rate*float64(now-b.at)/1e9)
	}
	b.at = max(b.at, now)
	if b.tokens < bits {
		return false
	}
	b.tokens -= bits
	return true
}
