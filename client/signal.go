package client

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/gorilla/websocket"

	"github.com/podium-sfu/podium/protocol"
)

// readLoop is the session's reader: it handles each server message in order, then queues it
// for Events. When the connection ends it tears the session down.
func (c *Client) readLoop() {
	defer c.wg.Done()
	defer c.teardown()
	for {
		_, data, err := c.conn().ReadMessage()
		if err != nil {
			c.log.Debug("signalling connection ended", "err", err)
			if c.resume() {
				continue
			}
			return
		}
		if seq, _ := protocol.FrameSeqs(data); seq > 0 {
			c.rs.lastSeq.Store(seq)
		}
		m, err := protocol.Decode(data)
		if err != nil {
			c.log.Warn("bad message from server", "err", err)
			continue
		}
		if !c.handle(m) {
			return
		}
	}
}

// handle applies one server message; it reports false when the session is over.
func (c *Client) handle(m protocol.Message) bool {
	more := true
	switch m := m.(type) {
	case *protocol.Offer:
		if m.Target != protocol.TargetSubscriber {
			c.log.Warn("offer for the publisher connection ignored: the client offers there")
			break
		}
		c.sub.handleOffer(m)
	case *protocol.Answer:
		if !c.deliver(m.ID, m) && m.Target == protocol.TargetPublisher {
			c.pub.deliverAnswer(m)
		}
	case *protocol.Candidate:
		if m.Target == protocol.TargetPublisher {
			c.pub.addRemoteCandidate(m.Candidate)
		} else {
			c.sub.addRemoteCandidate(m.Candidate)
		}
	case *protocol.TrackSubscribed:
		c.sub.expect(m)
	case *protocol.SubscribedLayers:
		c.pub.setLayers(m)
	case *protocol.Published:
		if !c.deliver(m.ID, m) {
			c.deliver("cid:"+m.CID, m) // a reply without the id still names its cid
		}
	case *protocol.Error:
		c.deliver(m.ID, m)
	case *protocol.Pong:
		c.deliver(m.ID, m)
	case *protocol.Leave:
		c.mu.Lock()
		c.leaveReason, c.rj.redirect = m.Reason, m.Redirect
		c.mu.Unlock()
		c.log.Info("server ended the session", "reason", m.Reason)
		more = false
	default:
		c.applyEvent(m)
	}
	if !c.events.push(m) {
		c.overrun("Events")
	}
	return more
}

// writeLoop is the session's only writer; it also sends the keep-alive pings.
func (c *Client) writeLoop() {
	defer c.wg.Done()
	defer close(c.writerDone)
	ping := time.NewTicker(c.opts.PingInterval)
	defer ping.Stop()
	broken := false // the socket failed: wait for the reader's resume
	for {
		select {
		case <-c.outbox.Wake():
		case <-ping.C:
			_ = c.send(&protocol.Ping{TS: time.Now().UnixMilli()})
		case after := <-c.rs.resumed:
			broken = false
			if err := c.resend(after); err != nil {
				broken = true
				_ = c.conn().NetConn().Close()
			}
		case <-c.closing:
			if c.flush() == nil {
				msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
				_ = c.conn().WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
			}
			return
		case <-c.ctx.Done():
			return
		}
		if broken {
			continue // frames wait in the outbox
		}
		if err := c.flush(); err != nil {
			c.log.Debug("signalling write failed", "err", err)
			_ = c.conn().NetConn().Close() // the reader sees it: it resumes or tears down
			if !c.opts.Resume {
				return
			}
			broken = true
		}
	}
}

func (c *Client) flush() error {
	frames, _ := c.outbox.Take(nil)
	ws := c.conn()
	for _, f := range frames {
		c.keepSent(f) // resent after a resume if the server did not get it
	}
	for _, f := range frames {
		_ = ws.SetWriteDeadline(time.Now().Add(writeTimeout))
		if err := ws.WriteMessage(websocket.TextMessage, f); err != nil {
			return err
		}
	}
	return nil
}

// enqueue hands a frame to the writer; it never blocks. ErrBacklog: the writer is maxUnsent
// behind (the connection is stuck, or the caller sends far faster than the server takes).
func (c *Client) enqueue(frame []byte) error {
	select {
	case <-c.done:
		return ErrClosed
	default:
	}
	if err := c.outbox.Push(c.stampOut(frame)); err != nil {
		return ErrBacklog
	}
	return nil
}

func (c *Client) send(m protocol.Message) error {
	b, err := protocol.Encode(m)
	if err != nil {
		return err
	}
	return c.enqueue(b)
}

// Send sends a message as it is, without an id or any check: for tests of bad input.
func (c *Client) Send(m protocol.Message) error { return c.send(m) }

// SendFrame sends raw bytes as one text frame: for tests of malformed input.
func (c *Client) SendFrame(b []byte) error { return c.enqueue(b) }

func (c *Client) newID() string { return "c" + strconv.FormatUint(c.nextID.Add(1), 10) }

// expect registers a waiter for the replies that carry one of keys.
func (c *Client) expect(keys ...string) chan protocol.Message {
	ch := make(chan protocol.Message, 1)
	c.mu.Lock()
	for _, k := range keys {
		c.pending[k] = ch
	}
	c.mu.Unlock()
	return ch
}

func (c *Client) unexpect(keys ...string) {
	c.mu.Lock()
	for _, k := range keys {
		delete(c.pending, k)
	}
	c.mu.Unlock()
}

// deliver hands m to the waiter of key, if any; it never blocks the reader.
func (c *Client) deliver(key string, m protocol.Message) bool {
	if key == "" {
		return false
	}
	c.mu.Lock()
	ch, ok := c.pending[key]
	delete(c.pending, key)
	c.mu.Unlock()
	if ok {
		select {
		case ch <- m:
		default: // the waiter already has its reply (id and cid both matched)
		}
	}
	return ok
}

// await returns the reply on ch; an `error` reply comes back as a *protocol.Error.
func (c *Client) await(ctx context.Context, ch chan protocol.Message) (protocol.Message, error) {
	select {
	case m := <-ch:
		if e, ok := m.(*protocol.Error); ok {
			return nil, e
		}
		return m, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.done:
		return nil, ErrClosed
	}
}

// Request sends a copy of m with a fresh id and waits for the server's reply with that id; an
// `error` reply is returned as a *protocol.Error.
func (c *Client) Request(ctx context.Context, m protocol.Message) (protocol.Message, error) {
	id := c.newID()
	req, err := withID(m, id)
	if err != nil {
		return nil, err
	}
	ch := c.expect(id)
	defer c.unexpect(id)
	if err := c.send(req); err != nil {
		return nil, err
	}
	return c.await(ctx, ch)
}

// withID returns a copy of a request message carrying id.
func withID(m protocol.Message, id string) (protocol.Message, error) {
	switch m := m.(type) {
	case *protocol.Offer:
		v := *m
		v.ID = id
		return &v, nil
	case *protocol.Answer:
		v := *m
		v.ID = id
		return &v, nil
	case *protocol.Publish:
		v := *m
		v.ID = id
		return &v, nil
	case *protocol.Unpublish:
		v := *m
		v.ID = id
		return &v, nil
	case *protocol.Mute:
		v := *m
		v.ID = id
		return &v, nil
	case *protocol.Subscribe:
		v := *m
		v.ID = id
		return &v, nil
	case *protocol.TrackSettings:
		v := *m
		v.ID = id
		return &v, nil
	case *protocol.UpdateMetadata:
		v := *m
		v.ID = id
		return &v, nil
	case *protocol.Ping:
		v := *m
		v.ID = id
		return &v, nil
	}
	return nil, fmt.Errorf("client: %s is not a request", m.MessageType())
}

// Subscribe subscribes to (or unsubscribes from) tracks. Like Mute, UpdateMetadata and
// SetTrackSettings it waits for nothing (the contract defines no reply); an `error` the server
// returns shows on Events. Use Request to wait for one.
func (c *Client) Subscribe(trackSids []string, subscribe bool) error {
	c.noteSubscribe(trackSids, subscribe) // for a rejoin
	return c.send(&protocol.Subscribe{ID: c.newID(), TrackSids: trackSids, Subscribe: subscribe})
}

// UpdateMetadata changes this participant's name and/or metadata (nil leaves one unchanged).
func (c *Client) UpdateMetadata(name, metadata *string) error {
	return c.send(&protocol.UpdateMetadata{ID: c.newID(), Name: name, Metadata: metadata})
}

// SetTrackSettings tells the server how this client renders a video (size, hidden, pinned).
func (c *Client) SetTrackSettings(s protocol.TrackSettings) error {
	s.ID = c.newID()
	return c.send(&s)
}
