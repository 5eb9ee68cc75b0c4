package participant

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room/peer"
)

// MaxDataMessage is the largest data message relayed.
const MaxDataMessage = 64 << 10

type dataMessage struct {
	Topic   string          `json:"topic,omitempty"`
	To      []string        `json:"to,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
	From    string          `json:"from"`
}

// relayData forwards a data message from this participant's publisher connection to the room.
// Text messages are JSON: "from" is set by the server and "to" limits the recipients.
func (p *Participant) relayData(label string, m webrtc.DataChannelMessage) {
	if label != peer.Reliable && label != peer.Lossy {
		return
	}
	p.mu.Lock() // on a data channel's goroutine: the server API may change the permissions
	allowed := p.perms.CanPublishData
	p.mu.Unlock()
	if !allowed || len(m.Data) > MaxDataMessage {
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
		if out, to, err = stampText(m.Data, p.identity); err != nil {
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

// stampText turns a client's text data message into the one relayed: "from" set to the
// sender's identity, "to" taken out (and returned: the recipients). The relayed message stays
// within MaxDataMessage and a few bytes for "from".
func stampText(data []byte, from string) ([]byte, []string, error) {
	var dm dataMessage
	if err := json.Unmarshal(data, &dm); err != nil {
		return nil, nil, fmt.Errorf("data message is not a JSON object: %w", err)
	}
	to := dm.To
	dm.From, dm.To = from, nil
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // HTML escaping would grow a topic of '<' six times
	if err := enc.Encode(dm); err != nil {
		return nil, nil, fmt.Errorf("data message: %w", err)
	}
	out := bytes.TrimSuffix(b.Bytes(), []byte("\n"))
	if len(out) > MaxDataMessage+relayOverhead {
		return nil, nil, fmt.Errorf("data message over %d bytes once relayed", MaxDataMessage+relayOverhead)
	}
	return out, to, nil
}

// relayOverhead is what the relay may add to a text message: "from" and its identity.
const relayOverhead = 16 + 6*protocol.MaxIDLen

// ServerData is a text data message from the server ("from" empty) with topic and payload.
func ServerData(topic string, payload json.RawMessage) ([]byte, error) {
	if len(payload) == 0 || !json.Valid(payload) {
		return nil, fmt.Errorf("%w: the payload must be a JSON value", ErrBadRequest)
	}
	b, err := json.Marshal(dataMessage{Topic: topic, Payload: payload})
	if err != nil || len(b) > MaxDataMessage {
		return nil, fmt.Errorf("%w: a data message is at most %d bytes", ErrBadRequest, MaxDataMessage)
	}
	return b, nil
}
