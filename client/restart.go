package client

import (
	"context"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/protocol"
)

// restartTimeout bounds one restart's offer/answer exchange on the publisher connection.
const restartTimeout = 10 * time.Second

// iceStateChanged wakes the restart loop when a connection lost its path (a network change, a
// sleep, a NAT binding gone): ICE disconnected or failed.
func (c *Client) iceStateChanged(s webrtc.PeerConnectionState) {
	if s != webrtc.PeerConnectionStateDisconnected && s != webrtc.PeerConnectionStateFailed {
		return
	}
	select {
	case c.restartKick <- struct{}{}:
	default: // one is already due
	}
}

// ICERestarts is the number of ICE restarts the client has begun.
func (c *Client) ICERestarts() int { return int(c.iceRestarts.Load()) }

// restartLoop restarts ICE on both connections while either has lost its path, every
// Options.ICERestartRetry until both are connected again: a restart that gathered while the
// network was still down has candidates that will never pair, and the next gathers anew. The
// participant, its tracks and their SSRCs stay; only the candidate pair changes.
func (c *Client) restartLoop() {
	defer c.wg.Done()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-c.restartKick:
		}
		for c.pathLost() {
			c.restartICE()
			select {
			case <-c.ctx.Done():
				return
			case <-time.After(c.opts.ICERestartRetry):
			}
		}
	}
}

// pathLost reports whether a connection that has been negotiated is not connected.
func (c *Client) pathLost() bool {
	for _, pc := range []*webrtc.PeerConnection{c.pub.pc, c.sub.pc} {
		switch pc.ConnectionState() {
		case webrtc.PeerConnectionStateDisconnected, webrtc.PeerConnectionStateFailed,
			webrtc.PeerConnectionStateConnecting:
			return true
		}
	}
	return false
}

// restartICE asks the server for a subscriber offer that restarts ICE, and restarts the
// publisher connection with an offer of its own when it carries anything.
func (c *Client) restartICE() {
	c.iceRestarts.Add(1)
	c.log.Info("restarting ICE", "publisher", c.pub.pc.ConnectionState().String(),
		"subscriber", c.sub.pc.ConnectionState().String())
	_ = c.send(&protocol.ICERestart{ID: c.newID()})
	ctx, cancel := context.WithTimeout(c.ctx, restartTimeout)
	defer cancel()
	if err := c.pub.lock(ctx); err != nil {
		return
	}
	defer c.pub.unlock()
	if !c.pub.negotiated {
		return
	}
	if err := c.pub.negotiateLocked(ctx, true); err != nil {
		c.log.Warn("publisher ICE restart", "err", err)
	}
}
