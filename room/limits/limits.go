// Package limits holds what one participant can make the server hold or do: every limit in
// one place, with its default. Package room enforces most of them, package signaling those of
// a session.
package limits

import "time"

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

// Default are generous for a real client (a browser sends a few messages a second, and
// bursts of candidates and offers when it joins) and small for a flood.
var Default = Limits{
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

// WithDefaults returns l with every zero (or negative) field set to its default.
func (l Limits) WithDefaults() Limits {
	d := Default
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
	return l
}
