package sigconn

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

// Resume (Config.Resume, docs/protocol.md "Resume"): when the WebSocket drops and the session
// is not over, the reader dials again with the resume token from `joined` and the number of the
// last server frame it read; the server replays what it missed, says which of the client's own
// frames it got, and the writer resends the rest. Nothing above the connection notices.

// sentKept is how many of its last frames the client keeps to resend after a resume.
const sentKept = 512

// resumeState is the connection's side of resume.
type resumeState struct {
	token  string // from joined; empty: the server offers no resume
	window time.Duration

	lastSeq atomic.Uint64 // the last server frame read
	cseq    atomic.Uint64 // the last client frame numbered

	mu      sync.Mutex
	sent    []sentFrame // frames handed to the socket, oldest first
	resumed chan uint64 // reader → writer: resumed; resend after this cseq
}

type sentFrame struct {
	cseq  uint64
	frame []byte
}

// stampOut numbers an outgoing frame (cseq).
func (c *Conn) stampOut(frame []byte) []byte {
	if !c.cfg.Resume {
		return frame
	}
	return protocol.StampSeq(frame, "cseq", c.rs.cseq.Add(1))
}

// keepSent remembers a frame the writer hands to the socket, to resend it after a resume.
func (c *Conn) keepSent(frame []byte) {
	if !c.cfg.Resume {
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
func (c *Conn) resend(after uint64) error {
	c.rs.mu.Lock()
	var again [][]byte
	for _, f := range c.rs.sent {
		if f.cseq > after {
			again = append(again, f.frame)
		}
	}
	c.rs.mu.Unlock()
	return write(c.conn(), again)
}

// errResumeRefused: the server no longer has the session (window over, or it restarted).
var errResumeRefused = errors.New("client: resume refused")

// resume dials until the session is back on a new WebSocket, the time is up, or the session
// ends (CloseWrite, Abort, ctx); it reports whether the reader may go on.
func (c *Conn) resume(ctx context.Context) bool {
	if !c.cfg.Resume || c.rs.token == "" {
		return false
	}
	window := c.rs.window
	if c.cfg.ResumeMax > 0 {
		window = min(window, c.cfg.ResumeMax)
	}
	deadline := time.Now().Add(window)
	wait := 250 * time.Millisecond
	for time.Now().Before(deadline) && !c.over(ctx) {
		ws, last, err := c.dialResume(ctx)
		if err == nil {
			return c.resumed(ws, last)
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
		case <-ctx.Done():
			return false
		}
		wait = min(2*wait, 2*time.Second)
	}
	return false
}

// over reports whether the session ended while its WebSocket was down.
func (c *Conn) over(ctx context.Context) bool {
	select {
	case <-c.closing:
		return true
	case <-ctx.Done():
		return true
	default:
		return c.aborted.Load()
	}
}

// resumed puts ws in place of the lost WebSocket and tells the writer what to resend, unless
// Abort came first.
func (c *Conn) resumed(ws *websocket.Conn, last uint64) bool {
	c.wsMu.Lock()
	if c.aborted.Load() {
		c.wsMu.Unlock()
		_ = ws.Close()
		return false
	}
	old := c.ws
	c.ws = ws
	c.wsMu.Unlock()
	_ = old.Close()
	c.log.Info("signalling resumed")
	if c.cfg.OnResumed != nil {
		c.cfg.OnResumed()
	}
	select {
	case c.rs.resumed <- last:
	default:
	}
	return true
}

// dialResume opens a WebSocket that resumes the session and reads its `resumed`.
func (c *Conn) dialResume(ctx context.Context) (*websocket.Conn, uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.DialTimeout)
	defer cancel()
	query := "&resume=" + c.rs.token + "&seq=" + strconv.FormatUint(c.rs.lastSeq.Load(), 10)
	ws, err := dial(ctx, c.cfg, c.url, c.token, query)
	if err != nil {
		var ce *ConnectError
		if errors.As(err, &ce) && ce.Status == http.StatusConflict {
			return nil, 0, fmt.Errorf("%w: %v", errResumeRefused, err)
		}
		return nil, 0, err
	}
	_ = ws.SetReadDeadline(time.Now().Add(c.cfg.DialTimeout))
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
