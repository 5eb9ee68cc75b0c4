package signaling

import (
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/podium-sfu/podium/protocol"
)

// Limits of one signalling session.
const (
	// readTimeout closes a session that sent nothing (not even a ping) for this long.
	readTimeout = 30 * time.Second
	// writeTimeout bounds one frame write to a slow client.
	writeTimeout = 10 * time.Second
	// maxQueued messages waiting for a client that does not read: past it, the session ends.
	maxQueued = 8192
	// hardFrameLimit makes gorilla drop the connection on absurd frames; frames between
	// MaxMessageSize and this get an error reply and are discarded.
	hardFrameLimit = 1 << 20
)

// Handler receives the decoded messages of a session (implemented by room.Participant).
type Handler interface {
	Handle(protocol.Message)
}

// Session is one client's WebSocket: a reader (the HTTP handler's goroutine) decodes and
// validates frames, a writer goroutine sends queued messages in order.
type Session struct {
	conn   *websocket.Conn
	logger *slog.Logger

	mu       sync.Mutex
	queue    []protocol.Message
	closing  bool // no more messages accepted; writer flushes and closes
	wake     chan struct{}
	done     chan struct{} // closed when the writer ended
	readDone chan struct{} // closed when the reader ended (or never ran)
}

func newSession(conn *websocket.Conn, logger *slog.Logger) *Session {
	s := &Session{conn: conn, logger: logger, wake: make(chan struct{}, 1), done: make(chan struct{}), readDone: make(chan struct{})}
	go s.writeLoop()
	return s
}

// Send queues a message; it never blocks. Messages after Close are dropped.
func (s *Session) Send(m protocol.Message) {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return
	}
	if len(s.queue) >= maxQueued {
		s.closing = true
		s.queue = nil
		s.mu.Unlock()
		s.logger.Warn("client does not read its messages: closing the session")
		_ = s.conn.Close()
		s.signal()
		return
	}
	s.queue = append(s.queue, m)
	s.mu.Unlock()
	s.signal()
}

// Done is closed when the session's writer has ended (after Close, or a write error).
func (s *Session) Done() <-chan struct{} { return s.done }

// Close flushes what was queued, then closes the WebSocket. It does not wait.
func (s *Session) Close() {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.signal()
}

func (s *Session) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Session) writeLoop() {
	defer close(s.done)
	defer s.conn.Close()
	for {
		s.mu.Lock()
		batch := s.queue
		s.queue = nil
		closing := s.closing
		s.mu.Unlock()
		for _, m := range batch {
			if err := s.write(m); err != nil {
				s.logger.Debug("write failed", "err", err)
				s.Close()
				return
			}
		}
		if len(batch) > 0 {
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
			case <-time.After(time.Second):
			}
			return
		}
		<-s.wake
	}
}

func (s *Session) write(m protocol.Message) error {
	b, err := protocol.Encode(m)
	if errors.Is(err, protocol.ErrTooLarge) {
		// The client would not read it: say so here, and keep the session for what does fit.
		s.logger.Error("message not sent: over the signalling frame limit", "err", err)
		return nil
	}
	if err != nil {
		return err
	}
	_ = s.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	return s.conn.WriteMessage(websocket.TextMessage, b)
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
		if n > protocol.MaxMessageSize {
			if _, err := io.Copy(io.Discard, r); err != nil {
				return
			}
			s.Send(&protocol.Error{Code: protocol.CodeBadRequest, Message: protocol.ErrTooLarge.Error()})
			continue
		}
		if kind != websocket.TextMessage {
			s.Send(&protocol.Error{Code: protocol.CodeBadRequest, Message: "only text frames carry signalling"})
			continue
		}
		m, err := protocol.Decode(buf[:n])
		if err != nil {
			var perr *protocol.Error
			if errors.As(err, &perr) {
				s.Send(perr)
			}
			continue
		}
		if !protocol.ClientTypes[m.MessageType()] {
			s.Send(&protocol.Error{ID: protocol.RequestID(m), Code: protocol.CodeBadRequest,
				Message: "\"" + m.MessageType() + "\" is a server message"})
			continue
		}
		if ping, ok := m.(*protocol.Ping); ok && ping.ID == "" {
			// A keep-alive needs no ordering; a ping with an id goes through the participant's
			// queue, so its pong also confirms every earlier request was handled.
			s.Send(&protocol.Pong{TS: ping.TS})
			continue
		}
		h.Handle(m)
	}
}
