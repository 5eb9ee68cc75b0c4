package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/podium-sfu/podium/protocol"
)

// Resume (Options.Resume, docs/protocol.md "Resume"): when the WebSocket drops and the
// session is not over, the client dials again with the resume token from `joined` and the
// number of the last server message it read; the server replays what it missed, says which of
// the client's own frames it got, and the client resends the rest. The peer connections are
// untouched, so media never stops and nobody sees a leave.

// sentKept is how many of its last frames the client keeps to resend after a resume.
const sentKept = 512

// resumeState is the client's side of resume.
type resumeState struct {
	url, token string // the session's URL and access token (dial again with them)
	resumeTok  string // from joined; empty: the server offers no resume
	window     time.Duration

	lastSeq atomic.Uint64 // the last server frame read
	cseq    atomic.Uint64 // the last client frame numbered

	mu      sync.Mutex
	sent    []sentFrame   // frames handed to the socket, oldest first
	resumed chan uint64   // reader → writer: resumed; resend after this cseq
	wsMu    sync.Mutex    // guards Client.ws across a resume
	count   atomic.Uint64 // resumes that succeeded
}

type sentFrame struct {
	cseq  uint64
	frame []byte
}

// Resumes counts the times the signalling connection was lost and resumed.
func (c *Client) Resumes() int { return int(c.rs.count.Load()) }

// conn is the current WebSocket.
func (c *Client) conn() *websocket.Conn {
	c.rs.wsMu.Lock()
	defer c.rs.wsMu.Unlock()
	return c.ws
}

// stampOut numbers an outgoing frame (cseq).
func (c *Client) stampOut(frame []byte) []byte {
	if !c.opts.Resume {
		return frame
	}
	return protocol.StampSeq(frame, "cseq", c.rs.cseq.Add(1))
}

// keepSent remembers a frame the writer hands to the socket, to resend it after a resume.
func (c *Client) keepSent(frame []byte) {
	if !c.opts.Resume {
		return
	}
	_, cseq := protocol.FrameSeqs(frame)
	c.rs.mu.Lock()
	c.rs.sent = append(c.rs.sent, sentFrame{cseq, frame})
	if len(c.rs.sent) > sentKept {
		c.rs.sent = append(c.rs.sent[:0], c.rs.sent[len(c.rs.sent)-sentKept:]...)
	}
	c.rs.mu.Unlock()
}

// resend writes again the frames the server did not get before the old socket dropped.
func (c *Client) resend(after uint64) error {
	c.rs.mu.Lock()
	var again [][]byte
	for _, f := range c.rs.sent {
		if f.cseq > after {
			again = append(again, f.frame)
		}
	}
	c.rs.mu.Unlock()
	ws := c.conn()
	for _, f := range again {
		_ = ws.SetWriteDeadline(time.Now().Add(writeTimeout))
		if err := ws.WriteMessage(websocket.TextMessage, f); err != nil {
			return err
		}
	}
	return nil
}

// errResumeRefused: the server no longer has the session (window over, or it restarted).
var errResumeRefused = errors.New("client: resume refused")

// resume dials until the session is back on a new WebSocket, the window is over or the
// client closes; it reports whether the reader may go on.
func (c *Client) resume() bool {
	if !c.opts.Resume || c.rs.resumeTok == "" {
		return false
	}
	deadline := time.Now().Add(c.resumeFor()) // rejoin.go
	wait := 250 * time.Millisecond
	for time.Now().Before(deadline) {
		select {
		case <-c.closing:
			return false
		case <-c.ctx.Done():
			return false
		default:
		}
		ws, last, err := c.dialResume()
		if err == nil {
			c.rs.wsMu.Lock()
			old := c.ws
			c.ws = ws
			c.rs.wsMu.Unlock()
			_ = old.Close()
			c.rs.count.Add(1)
			c.log.Info("signalling resumed", "resumes", c.rs.count.Load())
			select {
			case c.rs.resumed <- last:
			default:
			}
			return true
		}
		if errors.Is(err, errResumeRefused) {
			c.log.Info("resume refused", "err", err)
			return false
		}
		c.log.Debug("resume attempt failed", "err", err)
		select {
		case <-time.After(wait):
		case <-c.closing:
			return false
		}
		wait = min(2*wait, 2*time.Second)
	}
	return false
}

// dialResume opens a WebSocket that resumes the session and reads its `resumed`.
func (c *Client) dialResume() (*websocket.Conn, uint64, error) {
	u, err := rtcURL(c.rs.url, c.rs.token, c.opts.AutoSubscribe)
	if err != nil {
		return nil, 0, err
	}
	u += "&resume=" + c.rs.resumeTok + "&seq=" + strconv.FormatUint(c.rs.lastSeq.Load(), 10)
	ctx, cancel := context.WithTimeout(c.ctx, c.opts.DialTimeout)
	defer cancel()
	dialer := websocket.Dialer{Proxy: http.ProxyFromEnvironment, HandshakeTimeout: c.opts.DialTimeout, TLSClientConfig: c.opts.TLS}
	ws, resp, err := dialer.DialContext(ctx, u, nil)
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusConflict {
			return nil, 0, fmt.Errorf("%w: %v", errResumeRefused, refusal(resp))
		}
		return nil, 0, err
	}
	ws.SetReadLimit(protocol.MaxMessageSize)
	_ = ws.SetReadDeadline(time.Now().Add(c.opts.DialTimeout))
	_, data, err := ws.ReadMessage()
	_ = ws.SetReadDeadline(time.Time{})
	if err != nil {
		_ = ws.Close()
		return nil, 0, err
	}
	m, err := protocol.Decode(data)
	if err != nil {
		_ = ws.Close()
		return nil, 0, err
	}
	switch m := m.(type) {
	case *protocol.Resumed:
		return ws, m.LastClientSeq, nil
	case *protocol.Error:
		_ = ws.Close()
		return nil, 0, fmt.Errorf("%w: %s", errResumeRefused, m.Message)
	default:
		_ = ws.Close()
		return nil, 0, fmt.Errorf("%w: %s before resumed", ErrUnexpected, m.MessageType())
	}
}
