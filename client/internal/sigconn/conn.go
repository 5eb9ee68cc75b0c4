package sigconn

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/podium-sfu/podium/internal/fifo"
	"github.com/podium-sfu/podium/protocol"
)

const (
	// maxUnsent and maxUnsentBytes bound the frames waiting for the writer: over a minute of
	// what the server admits (50 a second by default), and above the server tests' floods
	// (1,389 offers of 60 KiB). A caller this far ahead gets ErrBacklog.
	maxUnsent      = 4096
	maxUnsentBytes = 128 << 20
	writeTimeout   = 10 * time.Second
)

// Conn is one signalling session: a reader (Run), one writer, and the WebSocket under them,
// which a resume replaces.
type Conn struct {
	cfg        Config
	log        *slog.Logger
	url, token string // dialled again to resume

	wsMu sync.Mutex
	ws   *websocket.Conn // the current one: see conn

	outbox     *fifo.Queue[[]byte] // encoded frames for the writer
	closing    chan struct{}       // closed by CloseWrite: the writer flushes, says goodbye, stops
	closeOnce  sync.Once
	writerDone chan struct{}
	done       chan struct{} // closed when Run returns: sends fail with ErrClosed
	aborted    atomic.Bool   // Abort: the session is not resumed

	nextID  atomic.Uint64
	mu      sync.Mutex
	pending map[string]chan protocol.Message // reply waiters by key (replies.go)

	rs resumeState
}

func newConn(cfg Config, url, token string, ws *websocket.Conn, j *protocol.Joined, frames int) *Conn {
	c := &Conn{
		cfg: cfg, url: url, token: token, ws: ws,
		log:     cfg.Logger.With("room", j.Room.Name, "participant", j.Participant.Sid),
		outbox:  fifo.NewSized(maxUnsent, maxUnsentBytes, func(b []byte) int { return len(b) }),
		closing: make(chan struct{}), writerDone: make(chan struct{}), done: make(chan struct{}),
		pending: map[string]chan protocol.Message{},
	}
	c.rs.token, c.rs.window = j.ResumeToken, time.Duration(j.ResumeWindow)*time.Second
	c.rs.resumed = make(chan uint64, 1)
	c.rs.lastSeq.Store(uint64(frames)) // the server numbers its frames from joined's
	return c
}

// conn is the current WebSocket.
func (c *Conn) conn() *websocket.Conn {
	c.wsMu.Lock()
	defer c.wsMu.Unlock()
	return c.ws
}

// Run reads the server's messages and hands each to handle, in order, on the caller's
// goroutine, while the writer sends; a lost WebSocket is resumed when Config.Resume allows. It
// returns when the session is over: the connection lost for good, handle reported false,
// Abort, or ctx done. The writer has stopped by then and sends fail with ErrClosed.
func (c *Conn) Run(ctx context.Context, handle func(protocol.Message) bool) {
	ctx, cancel := context.WithCancel(ctx)
	var writer sync.WaitGroup
	writer.Go(func() { c.writeLoop(ctx) })
	defer func() {
		close(c.done)
		cancel()
		_ = c.conn().NetConn().Close() // a writer stuck on a dead socket returns
		writer.Wait()
	}()
	for {
		_, data, err := c.conn().ReadMessage()
		if err != nil {
			c.log.Debug("signalling connection ended", "err", err)
			if c.resume(ctx) {
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
		if !handle(m) {
			return
		}
	}
}

// Abort drops the connection without a goodbye and without resuming it; Run returns.
func (c *Conn) Abort() {
	c.aborted.Store(true)
	_ = c.conn().NetConn().Close()
}

// CloseWrite ends the session politely: the writer sends what is queued and a close frame, then
// stops. It waits at most timeout (a dead server never reads); Abort then ends the reader.
func (c *Conn) CloseWrite(timeout time.Duration) {
	c.closeOnce.Do(func() { close(c.closing) })
	select {
	case <-c.writerDone:
	case <-time.After(timeout):
	}
}

// writeLoop is the session's only writer; it also sends the keep-alive pings.
func (c *Conn) writeLoop(ctx context.Context) {
	defer close(c.writerDone)
	ping := time.NewTicker(c.cfg.PingInterval)
	defer ping.Stop()
	broken := false // the socket failed: wait for the reader's resume
	for {
		select {
		case <-c.outbox.Wake():
		case <-ping.C:
			_ = c.Send(&protocol.Ping{TS: time.Now().UnixMilli()})
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
		case <-ctx.Done():
			return
		}
		if broken {
			continue // frames wait in the outbox
		}
		if err := c.flush(); err != nil {
			c.log.Debug("signalling write failed", "err", err)
			_ = c.conn().NetConn().Close() // the reader sees it: it resumes or ends
			if !c.cfg.Resume {
				return
			}
			broken = true
		}
	}
}

func (c *Conn) flush() error {
	frames, _ := c.outbox.Take(nil)
	for _, f := range frames {
		c.keepSent(f) // resent after a resume if the server did not get it
	}
	return write(c.conn(), frames)
}

func write(ws *websocket.Conn, frames [][]byte) error {
	for _, f := range frames {
		_ = ws.SetWriteDeadline(time.Now().Add(writeTimeout))
		if err := ws.WriteMessage(websocket.TextMessage, f); err != nil {
			return err
		}
	}
	return nil
}

// SendFrame hands raw bytes to the writer as one text frame; it never blocks. ErrBacklog: the
// writer is maxUnsent behind (the connection is stuck, or the caller sends far faster than the
// server takes).
func (c *Conn) SendFrame(frame []byte) error {
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

// Send encodes m and hands it to the writer.
func (c *Conn) Send(m protocol.Message) error {
	b, err := protocol.Encode(m)
	if err != nil {
		return err
	}
	return c.SendFrame(b)
}
