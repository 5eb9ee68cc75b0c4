package client

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/podium-sfu/podium/client/internal/sigconn"
	"github.com/podium-sfu/podium/protocol"
)

// Rejoin (Options.Rejoin): when the session ends without the caller asking (the WebSocket is
// lost, the peer connections stay down, or the server leaves with server_shutdown), the client
// joins again with the same token: at the URL the `leave` named as redirect if any, else its
// own URL and then Options.URLs in turn, with backoff, for Options.RejoinFor. The new session
// is set up in the same *Client: Self is the new participant, Events and Tracks go on, and the
// local tracks move to the new publisher connection, their files still playing.
//
// The session's fields are replaced while none of its goroutines run, but calls of the caller's
// (Publish*, Unpublish, Mute, Request, Send…) are not fenced off from the swap: make them after
// Reconnected, not between Reconnecting and Reconnected. Subscriptions made by hand are asked
// for again by track sid, so those of a publisher that moved too (new sids) are not.

// Events the client adds to Events around a rejoin (they are not server messages).
type (
	// Reconnecting: the session ended (Reason: the server's leave reason, "" when the
	// connection was lost) and the client is joining again.
	Reconnecting struct {
		Reason   string
		Redirect string // the URL the server named, tried first
	}
	// Reconnected: the client joined again at URL as Participant, and its local tracks are
	// published there (a `joined` precedes it on Events).
	Reconnected struct {
		URL         string
		Participant protocol.ParticipantInfo
	}
)

// MessageType names the event; the names are not the protocol's.
func (*Reconnecting) MessageType() string { return "client.reconnecting" }

// MessageType names the event; the names are not the protocol's.
func (*Reconnected) MessageType() string { return "client.reconnected" }

const (
	defaultRejoinFor   = time.Minute
	defaultRejoinAfter = 15 * time.Second // the peer connections down this long: rejoin
	rejoinFirstWait    = 250 * time.Millisecond
	rejoinMaxWait      = 4 * time.Second
	republishTimeout   = 10 * time.Second
	pathWatchInterval  = time.Second
	// resumeBeforeFailover bounds a resume (Options.Resume) when Options.URLs names other
	// servers: its own may be gone for good, and the rejoin must land within seconds.
	resumeBeforeFailover = 5 * time.Second
	errRejoinGaveUpText  = "client: rejoin gave up"
)

// rejoinState is what lasts across sessions.
type rejoinState struct {
	url, token string

	life       context.Context // the Client's lifetime: local tracks play until it ends
	lifeCancel context.CancelFunc
	lifeWG     sync.WaitGroup // the Events, Tracks and Data pumps and the rejoin goroutine
	final      chan struct{}  // Done: closed when no session follows
	finalOnce  sync.Once

	// Guarded by Client.mu.
	ended      bool            // Close or Kill: no rejoin
	redirect   string          // from the server's leave
	wanted     map[string]bool // track sids subscribed by hand (autoSubscribe off)
	reconnects int
}

// Resumes counts the times the signalling connection was lost and resumed (Options.Resume).
func (c *Client) Resumes() int { return int(c.resumes.Load()) }

// Reconnects counts the sessions the client joined again after losing one.
func (c *Client) Reconnects() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rj.reconnects
}

// rejoinWanted reports whether the session that just ended should be followed by another,
// with why it ended and where the server said to go.
func (c *Client) rejoinWanted() (ok bool, reason, redirect string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.opts.Rejoin || c.rj.ended {
		return false, c.leaveReason, ""
	}
	switch c.leaveReason {
	case "", protocol.LeaveServerShutdown: // lost, or the node went away
		return true, c.leaveReason, c.rj.redirect
	}
	return false, c.leaveReason, ""
}

// finish ends the Client: Done closes and Events, Tracks and Data close after their backlog.
func (c *Client) finish() {
	c.rj.finalOnce.Do(func() {
		close(c.rj.final)
		c.events.finish()
		c.tracks.finish()
		c.data.finish()
	})
}

// startRejoin runs the rejoin beside the reader that tore the session down.
func (c *Client) startRejoin(kept []*LocalTrack, reason, redirect string) {
	c.log.Info("session lost: rejoining", "reason", reason, "redirect", redirect, "tracks", len(kept))
	c.events.push(&Reconnecting{Reason: reason, Redirect: redirect})
	c.rj.lifeWG.Add(1)
	go c.rejoin(kept, redirect)
}

// rejoin dials the URLs in turn until one takes the client back, the time is up or the caller
// closes; on giving up it ends the Client.
func (c *Client) rejoin(kept []*LocalTrack, redirect string) {
	defer c.rj.lifeWG.Done()
	c.wg.Wait() // the old session's goroutines, before its fields are replaced
	urls := rejoinOrder(redirect, c.rj.url, c.opts.URLs)
	deadline := time.Now().Add(c.opts.RejoinFor)
	wait := rejoinFirstWait
	for i := 0; ; i++ {
		url := urls[i%len(urls)]
		err := c.rejoinAt(url, kept)
		if err == nil {
			return
		}
		c.log.Info("rejoin attempt failed", "url", url, "err", err)
		var refused *ConnectError
		if errors.Is(err, ErrClosed) || (errors.As(err, &refused) && refused.Status == http.StatusUnauthorized) {
			break // closed by the caller, or the token is no good anywhere
		}
		if time.Now().After(deadline) {
			break
		}
		if (i+1)%len(urls) == 0 { // a whole round failed: back off
			select {
			case <-time.After(wait):
			case <-c.rj.life.Done():
			}
			wait = min(2*wait, rejoinMaxWait)
		}
		if c.rj.life.Err() != nil {
			break
		}
	}
	c.log.Warn(errRejoinGaveUpText)
	for _, lt := range kept {
		lt.stop()
	}
	c.finish()
}

// rejoinOrder is where to try: the redirect, the first URL, then the others, each once.
func rejoinOrder(redirect, first string, others []string) []string {
	var out []string
	for _, u := range append([]string{redirect, first}, others...) {
		if u != "" && !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	return out
}

// rejoinAt joins at url and starts a session there that takes the kept tracks over.
func (c *Client) rejoinAt(url string, kept []*LocalTrack) error {
	sig, joined, err := sigconn.Dial(c.rj.life, url, c.rj.token, c.sigConfig())
	if err != nil {
		if c.rj.life.Err() != nil {
			return ErrClosed
		}
		return err
	}
	if err := c.begin(sig, joined, kept, url); err != nil {
		sig.Abort()
		return err
	}
	return nil
}

// carry publishes the kept tracks on the new session's publisher connection, subscribes again
// to what the caller subscribed to by hand, and tells the caller. It runs as a session goroutine,
// so that a session lost again before it is done hands the remaining tracks on.
func (c *Client) carry(kept []*LocalTrack, url string) {
	defer c.wg.Done()
	ctx, cancel := context.WithTimeout(c.ctx, republishTimeout)
	defer cancel()
	for _, lt := range kept {
		if err := c.pub.republish(ctx, lt); err != nil {
			if c.ctx.Err() != nil {
				return // this session is over too: the next takes what is left
			}
			c.log.Warn("a track could not be published again: stopped", "track", lt.Info().Sid, "err", err)
			c.pub.dropMoving(lt)
			lt.stop()
		}
	}
	c.resubscribe()
	c.mu.Lock()
	c.rj.reconnects++
	self := c.self
	c.mu.Unlock()
	c.log.Info("rejoined", "url", url, "participant", self.Sid)
	c.events.push(&Reconnected{URL: url, Participant: self})
}

// resubscribe asks again for the tracks subscribed by hand that the new session can see.
func (c *Client) resubscribe() {
	c.mu.Lock()
	var sids []string
	for _, p := range c.participants {
		for _, t := range p.Tracks {
			if c.rj.wanted[t.Sid] {
				sids = append(sids, t.Sid)
			}
		}
	}
	c.mu.Unlock()
	if len(sids) > 0 {
		_ = c.Subscribe(sids, true)
	}
}

// noteSubscribe remembers what the caller subscribed to by hand, for a rejoin.
func (c *Client) noteSubscribe(sids []string, subscribe bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rj.wanted == nil {
		c.rj.wanted = map[string]bool{}
	}
	for _, s := range sids {
		if subscribe {
			c.rj.wanted[s] = true
		} else {
			delete(c.rj.wanted, s)
		}
	}
}

// watchPath ends a session whose peer connections stayed down for Options.RejoinAfter
// despite the ICE restarts: the node is gone while the WebSocket still looks open.
func (c *Client) watchPath() {
	defer c.wg.Done()
	t := time.NewTicker(pathWatchInterval)
	defer t.Stop()
	var since time.Time
	for {
		select {
		case <-c.ctx.Done():
			return
		case now := <-t.C:
			if !c.pathLost() {
				since = time.Time{}
				continue
			}
			if since.IsZero() {
				since = now
			} else if now.Sub(since) >= c.opts.RejoinAfter {
				c.log.Warn("peer connections down: rejoining", "for", now.Sub(since).Round(time.Second))
				c.session().Abort() // the reader tears down and the rejoin begins
				return
			}
		}
	}
}
