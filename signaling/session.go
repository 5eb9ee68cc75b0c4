package signaling

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/podium-sfu/podium/internal/fifo"
	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room"
)

// Limits of one signalling session that are not per-participant policy (those are room.Limits).
const (
	// readTimeout closes a session that sent nothing (not even a ping) for this long.
	readTimeout = 30 * time.Second
	// writeTimeout bounds one frame write to a slow client.
	writeTimeout = 10 * time.Second
	// hardFrameLimit makes gorilla drop the connection on absurd frames; frames between
	// MaxMessageSize and this get an error reply and are discarded.
	hardFrameLimit = 1 << 20
	// limitedReplyEvery spaces the rate_limited errors: a flood gets one a second, not one per frame.
	limitedReplyEvery = time.Second
	// drainFor bounds how long a closing session reads on so that its last words arrive.
	drainFor = 2 * time.Second
)

// Handler receives the decoded messages of a session: its dispatcher (or a test's fake).
type Handler interface {
	Handle(protocol.Message)
}

// Session is one client's WebSocket: a reader (the HTTP handler's goroutine) decodes, validates
// and rate-limits frames, a writer goroutine sends queued frames in order. Both directions are
// bounded: a client that sends too fast is told, then closed; one that does not read is closed.
type Session struct {
	conn   *websocket.Conn
	logger *slog.Logger
	limits room.Limits
	now    func() time.Time

	out      *fifo.Queue[[]byte] // encoded frames for the writer; closed: it flushes and closes
	done     chan struct{}       // closed when the writer ended
	readDone chan struct{}       // closed when the reader ended (or never ran)

	// onClientSeq hears each client frame's cseq before it is handled (resume, link.go).
	onClientSeq func(uint64)

	dropped      atomic.Uint64      // frames dropped by the rate limits
	droppedTotal prometheus.Counter // the node's count of them; may be nil

	// reader's own state
	frames, bytes *rate.Limiter
	strikes       int       // frames dropped since strikesFrom
	strikesFrom   time.Time // start of the current strike window
	lastLimited   time.Time // last rate_limited reply
}

func newSession(conn *websocket.Conn, logger *slog.Logger, limits room.Limits) *Session {
	s := &Session{
		conn: conn, logger: logger, limits: limits, now: time.Now,
		out:  fifo.NewSized(limits.OutboundMessages, limits.OutboundBytes, func(b []byte) int { return len(b) }),
		done: make(chan struct{}), readDone: make(chan struct{}),
		frames: rate.NewLimiter(rate.Limit(limits.SignalRate), int(limits.SignalBurst)),
		bytes:  rate.NewLimiter(rate.Limit(limits.SignalByteRate), int(limits.SignalByteBurst)),
	}
	go s.writeLoop()
	return s
}

// Send queues a message; it never blocks. Messages after Close are dropped. A message over the
// frame limit is never dropped silently: the client gets an `error` (internal) in its place.
// A joined is split into as many frames as its participants need (joinedFrames).
func (s *Session) Send(m protocol.Message) {
	if j, ok := m.(*protocol.Joined); ok {
		first := *j
		first.Participants = nil
		for _, f := range joinedFrames(&first, j.Participants) {
			s.send(f)
		}
		return
	}
	s.send(m)
}

func (s *Session) send(m protocol.Message) {
	if b := encodeOrError(m, s.logger); b != nil {
		s.pushFrame(b)
	}
}

// encodeOrError encodes m, or an `error` (internal) in its place when it cannot be sent.
func encodeOrError(m protocol.Message, logger *slog.Logger) []byte {
	b, err := protocol.Encode(m)
	if err != nil {
		logger.Error("message not sent", "type", m.MessageType(), "err", err)
		b, err = protocol.Encode(&protocol.Error{Code: protocol.CodeInternal,
			Message: fmt.Sprintf("the server could not send a %q message: %v", m.MessageType(), err)})
		if err != nil {
			return nil
		}
	}
	return b
}

// pushFrame queues an encoded frame for the writer.
func (s *Session) pushFrame(b []byte) {
	// Full: the client does not read. Of the senders refused at once, the one that discards
	// the queue closes the session; after Close, messages are dropped.
	if errors.Is(s.out.Push(b), fifo.ErrFull) && s.out.Discard() {
		s.logger.Warn("client does not read its messages: closing the session", "reason", protocol.LeaveSlowConsumer)
		_ = s.conn.Close()
	}
}

// Done is closed when the session's writer has ended (after Close, or a write error).
func (s *Session) Done() <-chan struct{} { return s.done }

// Close flushes what was queued, then closes the WebSocket. It does not wait.
func (s *Session) Close() { s.out.Close() }

func (s *Session) writeLoop() {
	defer close(s.done)
	defer s.conn.Close()
	var batch [][]byte
	for {
		var closing bool
		batch, closing = s.out.Take(batch[:0])
		for i, b := range batch {
			batch[i] = nil
			_ = s.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
			if err := s.conn.WriteMessage(websocket.TextMessage, b); err != nil {
				s.logger.Debug("write failed", "err", err)
				s.Close()
				return
			}
		}
		if len(batch) > 0 {
			if cap(batch) > 64 {
				batch = nil // a burst's batch is not kept for the session's life
			}
			continue
		}
		if closing {
			_ = s.conn.SetWriteDeadline(time.Now().Add(time.Second))
			_ = s.conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
			// Closing a TCP socket with unread input sends a reset, and the client's kernel may
			// drop what we wrote (the leave) before the client read it: let the reader take the
			// client's close frame first, briefly.
			select {
			case <-s.readDone:
			case <-time.After(drainFor):
			}
			return
		}
		<-s.out.Wake()
	}
}

// readLoop decodes frames until the connection ends. Bad frames get an error reply; the
// session lives on. ping is answered here; everything else goes to h.
func (s *Session) readLoop(h Handler) {
	defer close(s.readDone)
	s.conn.SetReadLimit(hardFrameLimit)
	buf := make([]byte, protocol.MaxMessageSize+1)
	for {
		_ = s.conn.SetReadDeadline(time.Now().Add(readTimeout))
		kind, r, err := s.conn.NextReader()
		if err != nil {
			if !websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway) && !errors.Is(err, io.EOF) {
				s.logger.Debug("read ended", "err", err)
			}
			return
		}
		n, err := io.ReadFull(r, buf)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			return
		}
		if !s.admit(n) {
			if s.overLimit() {
				s.drain()
				return
			}
			if _, err := io.Copy(io.Discard, r); err != nil {
				return
			}
			continue
		}
		if n > protocol.MaxMessageSize {
			if _, err := io.Copy(io.Discard, r); err != nil {
				return
			}
			s.Send(&protocol.Error{Code: protocol.CodeBadRequest, Message: protocol.ErrTooLarge.Error()})
			continue
		}
		s.handleFrame(h, kind, buf[:n])
	}
}

func (s *Session) handleFrame(h Handler, kind int, frame []byte) {
	if kind != websocket.TextMessage {
		s.Send(&protocol.Error{Code: protocol.CodeBadRequest, Message: "only text frames carry signalling"})
		return
	}
	m, err := protocol.Decode(frame)
	if err != nil {
		var perr *protocol.Error
		if errors.As(err, &perr) {
			s.Send(perr)
		}
		return
	}
	if !protocol.ClientTypes[m.MessageType()] {
		s.Send(&protocol.Error{ID: protocol.RequestID(m), Code: protocol.CodeBadRequest,
			Message: "\"" + m.MessageType() + "\" is a server message"})
		return
	}
	if s.onClientSeq != nil {
		if _, cseq := protocol.FrameSeqs(frame); cseq > 0 {
			s.onClientSeq(cseq)
		}
	}
	if ping, ok := m.(*protocol.Ping); ok && ping.ID == "" {
		// A keep-alive needs no ordering; a ping with an id goes through the participant's
		// queue, so its pong also confirms every earlier request was handled.
		s.Send(&protocol.Pong{TS: ping.TS})
		return
	}
	h.Handle(m)
}

// admit spends a frame of n bytes from the session's buckets; false drops the frame.
func (s *Session) admit(n int) bool {
	now := s.now()
	if s.frames.AllowN(now, 1) && s.bytes.AllowN(now, n) {
		return true
	}
	s.dropped.Add(1)
	if s.droppedTotal != nil {
		s.droppedTotal.Inc()
	}
	if now.Sub(s.strikesFrom) > s.limits.StrikeWindow {
		s.strikesFrom, s.strikes = now, 0
	}
	s.strikes++
	if s.strikes < s.limits.StrikeLimit && now.Sub(s.lastLimited) >= limitedReplyEvery {
		s.lastLimited = now
		s.Send(&protocol.Error{Code: protocol.CodeRateLimited, Message: fmt.Sprintf(
			"too many messages: at most %g a second and %g KiB a second; this one and others are dropped",
			s.limits.SignalRate, s.limits.SignalByteRate/1024)})
	}
	return false
}

// drain reads and discards what the client still sends, for a short while, after the session
// was told to end: closing a TCP socket with unread input sends a reset, and the client's
// kernel may then drop the leave it has not read yet.
func (s *Session) drain() {
	_ = s.conn.SetReadDeadline(time.Now().Add(drainFor))
	for {
		if _, r, err := s.conn.NextReader(); err != nil {
			return
		} else if _, err := io.Copy(io.Discard, r); err != nil {
			return
		}
	}
}

// overLimit ends a session that went on flooding after being told: it gets leave (rate_limited).
func (s *Session) overLimit() bool {
	if s.strikes < s.limits.StrikeLimit {
		return false
	}
	s.logger.Warn("closing a session that floods signalling", "reason", protocol.LeaveRateLimited,
		"dropped", s.strikes, "window", s.limits.StrikeWindow)
	s.Send(&protocol.Leave{Reason: protocol.LeaveRateLimited})
	s.Close()
	return true
}
