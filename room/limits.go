package room

import (
	"sync/atomic"
	"time"
)

// Limits bound what one participant can make the server hold or do, so that one token can never
// take a meeting down. They are all here, with their defaults, and in docs/security.md; a zero
// field takes its default.
type Limits struct {
	// Signalling, per session (enforced by package signaling): a token bucket on frames and one
	// on bytes. A frame over either is dropped with an `error` (rate_limited); a session that
	// has StrikeLimit frames dropped within StrikeWindow is closed (leave rate_limited).
	SignalRate, SignalBurst         float64
	SignalByteRate, SignalByteBurst float64
	StrikeLimit                     int
	StrikeWindow                    time.Duration
	OutboundBytes, OutboundMessages int // queued for a client that does not read; then slow_consumer
	PendingRequests                 int // client requests waiting on the control queue
	MaxOfferSections                int // m-sections in a publisher offer
	MetadataInterval                time.Duration
	DataRate, DataBurst             float64 // data messages per sender
	DataByteRate, DataByteBurst     float64 // data bytes per sender
	LossyBuffered, ReliableBuffered int     // bytes queued towards one receiver per channel
	ReliableCeiling                 int     // a reliable message past this closes the receiver at once
	SlowConsumerAfter               time.Duration
	MaxHiddenParticipants           int
}

// DefaultLimits are generous for a real client (a browser sends a few messages a second, and
// bursts of candidates and offers when it joins) and small for a flood.
var DefaultLimits = Limits{
	SignalRate: 50, SignalBurst: 200,
	SignalByteRate: 256 << 10, SignalByteBurst: 1 << 20,
	StrikeLimit: 200, StrikeWindow: 10 * time.Second,
	OutboundBytes: 8 << 20, OutboundMessages: 8192,
	PendingRequests:  64,
	MaxOfferSections: 40,
	MetadataInterval: 250 * time.Millisecond,
	DataRate:         100, DataBurst: 200,
	DataByteRate: 1 << 20, DataByteBurst: 2 << 20,
	LossyBuffered: 256 << 10, ReliableBuffered: 1 << 20,
	ReliableCeiling:       4 << 20,
	SlowConsumerAfter:     3 * time.Second,
	MaxHiddenParticipants: 16,
}

func (l *Limits) defaults() {
	d := DefaultLimits
	setF := func(v *float64, def float64) {
		if *v <= 0 {
			*v = def
		}
	}
	setI := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	setD := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	setF(&l.SignalRate, d.SignalRate)
	setF(&l.SignalBurst, d.SignalBurst)
	setF(&l.SignalByteRate, d.SignalByteRate)
	setF(&l.SignalByteBurst, d.SignalByteBurst)
	setI(&l.StrikeLimit, d.StrikeLimit)
	setD(&l.StrikeWindow, d.StrikeWindow)
	setI(&l.OutboundBytes, d.OutboundBytes)
	setI(&l.OutboundMessages, d.OutboundMessages)
	setI(&l.PendingRequests, d.PendingRequests)
	setI(&l.MaxOfferSections, d.MaxOfferSections)
	setD(&l.MetadataInterval, d.MetadataInterval)
	setF(&l.DataRate, d.DataRate)
	setF(&l.DataBurst, d.DataBurst)
	setF(&l.DataByteRate, d.DataByteRate)
	setF(&l.DataByteBurst, d.DataByteBurst)
	setI(&l.LossyBuffered, d.LossyBuffered)
	setI(&l.ReliableBuffered, d.ReliableBuffered)
	setI(&l.ReliableCeiling, d.ReliableCeiling)
	setD(&l.SlowConsumerAfter, d.SlowConsumerAfter)
	setI(&l.MaxHiddenParticipants, d.MaxHiddenParticipants)
}

// Drops counts what the limits refused on this node, for metrics and tests.
type Drops struct {
	Requests      uint64 // client requests refused because too many waited
	DataRate      uint64 // data messages over their sender's rate or byte budget
	DataLossy     uint64 // lossy data messages over a receiver's buffered budget
	SlowConsumers uint64 // participants closed because they did not read their reliable data
}

type dropCounters struct {
	requests, dataRate, dataLossy, slowConsumers atomic.Uint64
}

// Drops returns the counts so far.
func (m *Manager) Drops() Drops {
	d := &m.drops
	return Drops{Requests: d.requests.Load(), DataRate: d.dataRate.Load(),
		DataLossy: d.dataLossy.Load(), SlowConsumers: d.slowConsumers.Load()}
}
