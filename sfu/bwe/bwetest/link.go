// Package bwetest drives a bandwidth estimator through a simulated path on a clock of its own:
// a drop-tail bottleneck, a receiver that may read late, and transport-wide feedback every
// 100 ms. The estimator's tests and the allocator's probing tests share it.
package bwetest

import (
	"time"

	"github.com/pion/rtcp"
)

// Link is a drop-tail bottleneck: packets leave one after another at Rate, wait in a queue of
// at most QueueBytes, and are dropped when it is full; each then takes Delay to arrive.
type Link struct {
	Rate       float64 // bits/s
	QueueBytes int
	Delay      time.Duration
	free       time.Duration // when the last queued packet has left
}

// Send puts a packet of size bytes on the link at at (time since the simulation's start) and
// returns when it arrives, or false when the queue is full.
func (l *Link) Send(at time.Duration, size int) (time.Duration, bool) {
	start := max(l.free, at)
	backlog := float64(start-at) / float64(time.Second) * l.Rate / 8 // bytes still queued
	if int(backlog)+size > l.QueueBytes {
		return 0, false
	}
	l.free = start + time.Duration(float64(size*8)/l.Rate*float64(time.Second))
	return l.free + l.Delay, true
}

// arrival is one packet as the receiver's feedback reports it.
type arrival struct {
	seq  uint16
	at   time.Duration // when the receiver stamped it
	lost bool
}

// feedback builds a transport-wide feedback report of packets in sequence order.
func feedback(pkts []arrival) []byte {
	fb := &rtcp.TransportLayerCC{BaseSequenceNumber: pkts[0].seq, PacketStatusCount: uint16(len(pkts))}
	ref := time.Duration(-1)
	for _, p := range pkts {
		if !p.lost {
			ref = p.at / (64 * time.Millisecond) * (64 * time.Millisecond)
			break
		}
	}
	prev := ref
	fb.ReferenceTime = uint32(max(ref, 0) / (64 * time.Millisecond))
	for _, p := range pkts {
		sym := uint16(rtcp.TypeTCCPacketNotReceived)
		if !p.lost {
			sym = rtcp.TypeTCCPacketReceivedLargeDelta
			d := (p.at - prev) / (250 * time.Microsecond) * (250 * time.Microsecond)
			fb.RecvDeltas = append(fb.RecvDeltas, &rtcp.RecvDelta{Type: sym, Delta: int64(d / time.Microsecond)})
			prev += d
		}
		fb.PacketChunks = append(fb.PacketChunks, &rtcp.RunLengthChunk{PacketStatusSymbol: sym, RunLength: 1})
	}
	fb.Header = rtcp.Header{Count: rtcp.FormatTCC, Type: rtcp.TypeTransportSpecificFeedback}
	fb.Header.Padding = fb.MarshalSize()%4 != 0
	fb.Header.Length = uint16((fb.MarshalSize()+3)/4 - 1)
	b, err := fb.Marshal()
	if err != nil {
		panic(err) // a report the helper built wrong: a bug in the test
	}
	return b
}
