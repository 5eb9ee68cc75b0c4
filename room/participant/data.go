package participant

import (
	"slices"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room/peer"
)

// relayData forwards a data message from this participant's publisher connection to the room.
// Text messages are JSON: "from" is set by the server and "to" limits the recipients.
func (p *Participant) relayData(label string, m webrtc.DataChannelMessage) {
	if label != peer.Reliable && label != peer.Lossy {
		return
	}
	p.mu.Lock() // on a data channel's goroutine: the server API may change the permissions
	allowed := p.perms.CanPublishData
	p.mu.Unlock()
	if !allowed || len(m.Data) > protocol.MaxDataMessage {
		p.logger.Debug("dropping data message", "size", len(m.Data), "allowed", allowed)
		return
	}
	if now := time.Now(); !p.dataFrames.AllowN(now, 1) || !p.dataBytes.AllowN(now, len(m.Data)) {
		// Over its sender's budget: dropped here, so that no receiver queues it.
		p.env.Drops.DataRate.Add(1)
		p.logger.Debug("dropping data message over the sender's rate", "size", len(m.Data))
		return
	}
	out := m.Data
	var to []string
	if m.IsString {
		var err error
		if out, to, err = protocol.StampData(m.Data, p.identity); err != nil {
			p.Send(&protocol.Error{Code: protocol.CodeBadRequest, Message: err.Error()})
			return
		}
	}
	for _, o := range p.room.Others(p) {
		if o.remote != nil || (len(to) > 0 && !slices.Contains(to, o.identity)) {
			continue
		}
		o.SendData(label, out, m.IsString)
	}
	if c := p.env.Cluster; c != nil {
		c.PublishData(p.room.Name(), label, out, m.IsString, to)
	}
}

// SendData queues a data message towards this participant without ever waiting for it: a
// sender is never slowed by a slow receiver. Lossy messages over the receiver's buffered budget
// are dropped and counted. Reliable ones are kept up to a ceiling while the receiver catches up;
// a receiver over its reliable budget for SlowConsumerAfter, or at the ceiling, is closed
// (leave slow_consumer) rather than silently missing a message it was promised.
func (p *Participant) SendData(label string, b []byte, text bool) {
	switch p.peer.SendData(label, b, text) {
	case peer.DataDropped:
		p.env.Drops.DataLossy.Add(1)
	case peer.DataSlow:
		if !p.slowConsumer.CompareAndSwap(false, true) {
			return // already on its way out
		}
		p.env.Drops.SlowConsumers.Add(1)
		p.logger.Warn("closing a participant that does not read its data", "reason", protocol.LeaveSlowConsumer)
		p.RequestClose(protocol.LeaveSlowConsumer)
	}
}
