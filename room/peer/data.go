package peer

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
)

// Data channel labels, the same on both connections.
const (
	Reliable = "reliable"
	Lossy    = "lossy"
)

// DataBudgets bound what waits in the server's data channels towards one client, so that a
// sender is never slowed by a slow receiver.
type DataBudgets struct {
	LossyBuffered     int           // bytes queued on the lossy channel; past it a message is dropped
	ReliableBuffered  int           // bytes queued on the reliable channel the client may stay over...
	SlowConsumerAfter time.Duration // ...for this long before it must go
	ReliableCeiling   int           // a reliable message past this makes it go at once
}

// DataResult is what became of a message SendData was given.
type DataResult int

// What SendData did.
const (
	DataSent    DataResult = iota // queued on the channel (or the send failed: logged)
	DataClosed                    // the channel is not open: nothing sent
	DataDropped                   // a lossy message over the channel's budget: dropped
	DataSlow                      // the client does not read its reliable data: nothing sent, it must go
)

func (p *Peer) openDataChannels() error {
	ordered, unordered, zero := true, false, uint16(0)
	for label, init := range map[string]*webrtc.DataChannelInit{
		Reliable: {Ordered: &ordered},
		Lossy:    {Ordered: &unordered, MaxRetransmits: &zero},
	} {
		dc, err := p.sub.CreateDataChannel(label, init)
		if err != nil {
			return fmt.Errorf("data channel %s: %w", label, err)
		}
		p.channels[label] = dc
	}
	return nil
}

// SendData queues a message on one of the server's data channels without ever waiting. Lossy
// messages over the budget are dropped; reliable ones are kept up to the ceiling while the client
// catches up (see DataBudgets). Safe from any goroutine.
func (p *Peer) SendData(label string, b []byte, text bool) DataResult {
	dc := p.channels[label]
	if dc == nil || dc.ReadyState() != webrtc.DataChannelStateOpen {
		return DataClosed
	}
	queued := int(dc.BufferedAmount()) + len(b)
	if label == Lossy {
		if queued > p.cfg.Data.LossyBuffered {
			return DataDropped
		}
	} else if p.cfg.Data.overReliable(&p.reliableOverSince, queued, time.Now()) {
		return DataSlow
	}
	var err error
	if text {
		err = dc.SendText(string(b))
	} else {
		err = dc.Send(b)
	}
	if err != nil {
		p.logger.Debug("data send failed", "err", err)
	}
	return DataSent
}

// overReliable tracks in since (UnixNano, 0: under budget) how long the reliable channel has
// held more than its budget with queued bytes, and reports whether the client must go.
func (b DataBudgets) overReliable(since *atomic.Int64, queued int, now time.Time) bool {
	if queued <= b.ReliableBuffered {
		since.Store(0)
		return false
	}
	if queued > b.ReliableCeiling {
		return true
	}
	first := since.Load()
	if first == 0 {
		since.CompareAndSwap(0, now.UnixNano())
		return false
	}
	return time.Duration(now.UnixNano()-first) > b.SlowConsumerAfter
}
