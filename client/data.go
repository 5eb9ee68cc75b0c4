package client

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
)

// Data channel labels, on both connections.
const (
	LabelReliable = "reliable"
	LabelLossy    = "lossy"
)

// DataMessage is the JSON text a data channel carries; the server adds From when it relays.
type DataMessage struct {
	Topic   string   `json:"topic"`
	To      []string `json:"to,omitempty"` // identities; empty: the whole room
	Payload string   `json:"payload"`
	From    string   `json:"from,omitempty"`
}

// DataPacket is one message received on a data channel.
type DataPacket struct {
	Label   string // LabelReliable or LabelLossy
	Binary  bool
	Data    []byte
	Message *DataMessage // the decoded text message; nil for binary or undecodable text
}

func newDataPacket(label string, msg webrtc.DataChannelMessage) DataPacket {
	p := DataPacket{Label: label, Binary: !msg.IsString, Data: msg.Data}
	if msg.IsString {
		var m DataMessage
		if json.Unmarshal(msg.Data, &m) == nil {
			p.Message = &m
		}
	}
	return p
}

// Data delivers what arrives on the server's data channels; it is closed at the end. Read it: a
// caller 65,536 packets or 64 MiB behind ends the session (see LeaveReason).
func (c *Client) Data() <-chan DataPacket { return c.data.out }

// SendData sends a JSON text message on the reliable or the lossy channel. The first send
// negotiates the publisher connection if no publish has yet, and waits for the channel to open.
func (c *Client) SendData(ctx context.Context, m DataMessage, reliable bool) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	d, err := c.pub.openChannel(ctx, reliable)
	if err != nil {
		return err
	}
	if err := d.waitRoom(ctx); err != nil {
		return err
	}
	return d.dc.SendText(string(b))
}

// SendDataBinary sends a binary message, which the server relays as it is.
func (c *Client) SendDataBinary(ctx context.Context, b []byte, reliable bool) error {
	d, err := c.pub.openChannel(ctx, reliable)
	if err != nil {
		return err
	}
	if err := d.waitRoom(ctx); err != nil {
		return err
	}
	return d.dc.Send(b)
}

// maxBuffered is how much a data channel may hold unsent before a send waits: pion's queue has
// no bound of its own, and a sender faster than its path would fill memory.
const maxBuffered = 1 << 20

// dataChannel is one of the publisher's two channels, with a signal for when it opens and one
// for when its buffer has drained below half of maxBuffered.
type dataChannel struct {
	dc     *webrtc.DataChannel
	open   chan struct{}
	opened sync.Once
	low    chan struct{} // capacity 1
}

// waitRoom waits while the channel holds more than maxBuffered.
func (d *dataChannel) waitRoom(ctx context.Context) error {
	for d.dc.BufferedAmount() > maxBuffered {
		select {
		case <-d.low:
		case <-time.After(10 * time.Millisecond): // in case the drain signal raced the check
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func newDataChannel(pc *webrtc.PeerConnection, label string, init *webrtc.DataChannelInit) (*dataChannel, error) {
	dc, err := pc.CreateDataChannel(label, init)
	if err != nil {
		return nil, err
	}
	d := &dataChannel{dc: dc, open: make(chan struct{}), low: make(chan struct{}, 1)}
	dc.OnOpen(func() { d.opened.Do(func() { close(d.open) }) })
	dc.SetBufferedAmountLowThreshold(maxBuffered / 2)
	dc.OnBufferedAmountLow(func() {
		select {
		case d.low <- struct{}{}:
		default:
		}
	})
	return d, nil
}
