package sigconn

import (
	"context"
	"fmt"
	"strconv"

	"github.com/podium-sfu/podium/protocol"
)

// Replies: a request carries an "id" and its reply (or the `error` it causes) the same; the
// reader hands each reply to the waiter of its key (Deliver), never blocking on it.

// NewID is a fresh request id, unique within the session.
func (c *Conn) NewID() string { return "c" + strconv.FormatUint(c.nextID.Add(1), 10) }

// Expect registers a waiter for the replies that carry one of keys.
func (c *Conn) Expect(keys ...string) chan protocol.Message {
	ch := make(chan protocol.Message, 1)
	c.mu.Lock()
	for _, k := range keys {
		c.pending[k] = ch
	}
	c.mu.Unlock()
	return ch
}

// Unexpect drops the waiter of keys.
func (c *Conn) Unexpect(keys ...string) {
	c.mu.Lock()
	for _, k := range keys {
		delete(c.pending, k)
	}
	c.mu.Unlock()
}

// Deliver hands m to the waiter of key, if any; it never blocks the reader.
func (c *Conn) Deliver(key string, m protocol.Message) bool {
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

// Await returns the reply on ch; an `error` reply comes back as a *protocol.Error.
func (c *Conn) Await(ctx context.Context, ch chan protocol.Message) (protocol.Message, error) {
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

// Request sends a copy of m with a fresh id and waits for the reply with that id.
func (c *Conn) Request(ctx context.Context, m protocol.Message) (protocol.Message, error) {
	id := c.NewID()
	req, err := withID(m, id)
	if err != nil {
		return nil, err
	}
	ch := c.Expect(id)
	defer c.Unexpect(id)
	if err := c.Send(req); err != nil {
		return nil, err
	}
	return c.Await(ctx, ch)
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
