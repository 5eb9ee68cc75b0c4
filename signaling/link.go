package signaling

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room"
)

// Resume (docs/protocol.md "Resume"): a participant outlives its WebSocket. Its link numbers
// what the server sends it and keeps the recent frames; when the socket drops without a leave,
// the participant and its peer connections stay for the resume window, and a new socket with
// the link's token and the last number the client read gets the rest, in order.
const (
	// DefaultResumeWindow is how long a participant waits for its client to come back.
	DefaultResumeWindow = 20 * time.Second
	replayFrames        = 1024    // frames kept for a replay ...
	replayBytes         = 4 << 20 // ... and their bytes at most; older ones are dropped
)

// ErrResumeRefused: the session cannot be resumed (unknown token, window over, frames the
// client missed already dropped); the client joins again.
var ErrResumeRefused = errors.New("resume refused")

// link is one participant's signalling across WebSockets: its room.Sink for its whole life.
type link struct {
	srv      *Server
	token    string
	identity string
	room     string
	window   time.Duration
	logger   *slog.Logger

	mu        sync.Mutex
	p         *room.Participant
	seq       uint64        // of the last frame sent
	kept      []keptFrame   // the recent frames, oldest first
	keptBytes int           //
	sess      *Session      // nil while the client is away
	clientSeq uint64        // the last client frame received
	timer     *time.Timer   // the resume window, while away
	closed    bool          // the participant is gone
	done      chan struct{} // closed once closed and the last session flushed
}

type keptFrame struct {
	seq   uint64
	frame []byte
}

// newLink makes a participant's link; resumable says its client can resume (it joined with
// ?resumable=1), else the link is only the numbering and the participant leaves with its socket.
func newLink(srv *Server, identity, roomName string, resumable bool, logger *slog.Logger) *link {
	l := &link{srv: srv, identity: identity, room: roomName, logger: logger, done: make(chan struct{})}
	if resumable {
		b := make([]byte, 18)
		_, _ = rand.Read(b)
		l.token, l.window = base64.RawURLEncoding.EncodeToString(b), srv.resumeWindow()
	}
	return l
}

// Send numbers and keeps m's frames, and queues them on the current session, if any.
func (l *link) Send(m protocol.Message) {
	var frames []protocol.Message
	if j, ok := m.(*protocol.Joined); ok {
		first := *j
		first.Participants = nil
		if l.token != "" {
			first.ResumeToken, first.ResumeWindow = l.token, int(l.window/time.Second)
		}
		frames = joinedFrames(&first, j.Participants)
	} else {
		frames = []protocol.Message{m}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed && l.sess == nil {
		return
	}
	for _, f := range frames {
		b := encodeOrError(f, l.logger)
		if b == nil {
			continue
		}
		l.seq++
		b = protocol.StampSeq(b, "seq", l.seq)
		l.keep(keptFrame{l.seq, b})
		if l.sess != nil {
			l.sess.pushFrame(b)
		}
	}
}

func (l *link) keep(f keptFrame) {
	l.kept = append(l.kept, f)
	l.keptBytes += len(f.frame)
	drop := 0
	for len(l.kept)-drop > replayFrames || l.keptBytes > replayBytes {
		l.keptBytes -= len(l.kept[drop].frame)
		l.kept[drop] = keptFrame{}
		drop++
	}
	if drop > 0 {
		l.kept = append(l.kept[:0], l.kept[drop:]...)
	}
}

// Close ends the link (the participant is gone): the session, if any, flushes and closes.
func (l *link) Close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	sess := l.sess
	if l.timer != nil {
		l.timer.Stop()
	}
	l.mu.Unlock()
	l.srv.forgetLink(l)
	if sess == nil {
		close(l.done)
		return
	}
	sess.Close()
	go func() { <-sess.Done(); close(l.done) }()
}

// Done is closed once the link closed and its last session flushed.
func (l *link) Done() <-chan struct{} { return l.done }

func (l *link) noteClientSeq(n uint64) {
	l.mu.Lock()
	l.clientSeq = max(l.clientSeq, n)
	l.mu.Unlock()
}

// attach makes sess the link's session: on a resume, `resumed` and then every frame after
// lastSeq go first.
func (l *link) attach(sess *Session, resume bool, lastSeq uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrResumeRefused
	}
	if resume {
		if lastSeq > l.seq || (len(l.kept) > 0 && lastSeq+1 < l.kept[0].seq) ||
			(len(l.kept) == 0 && lastSeq < l.seq) {
			return ErrResumeRefused // the client read more than was sent, or missed what was dropped
		}
		if l.timer != nil {
			l.timer.Stop()
			l.timer = nil
		}
		if old := l.sess; old != nil {
			old.Close() // a client that came back before its old socket timed out
		}
		b := encodeOrError(&protocol.Resumed{LastClientSeq: l.clientSeq}, l.logger)
		sess.pushFrame(b)
		for _, f := range l.kept {
			if f.seq > lastSeq {
				sess.pushFrame(f.frame)
			}
		}
	}
	sess.onClientSeq = l.noteClientSeq
	l.sess = sess
	return nil
}

// lost is called when sess's reader ended: unless the participant left, it waits for its client
// for the resume window, then leaves.
func (l *link) lost(sess *Session) {
	l.mu.Lock()
	if l.sess != sess || l.closed {
		l.mu.Unlock()
		return
	}
	l.sess = nil
	p := l.p
	if l.token == "" || p == nil { // a client that cannot resume: it is gone
		l.mu.Unlock()
		if p != nil {
			p.Close("")
		}
		sess.Close()
		return
	}
	l.timer = time.AfterFunc(l.window, func() {
		l.logger.Info("client did not resume in time", "window", l.window)
		p.Close("")
	})
	l.mu.Unlock()
	sess.Close()
	l.logger.Debug("signalling lost; waiting for a resume", "window", l.window)
}

// forgetLink drops a closed link from the resume table.
func (s *Server) forgetLink(l *link) {
	s.linksMu.Lock()
	if s.links[l.token] == l {
		delete(s.links, l.token)
	}
	s.linksMu.Unlock()
}

func (s *Server) findLink(token string) *link {
	s.linksMu.Lock()
	defer s.linksMu.Unlock()
	return s.links[token]
}

func (s *Server) resumeWindow() time.Duration {
	if s.cfg.ResumeWindow > 0 {
		return s.cfg.ResumeWindow
	}
	return DefaultResumeWindow
}

// DropSignalling closes a participant's WebSocket abruptly, as a lost network would, without a
// leave (failure drills and tests). It reports whether the participant had one to drop.
func (s *Server) DropSignalling(roomName, identity string) bool {
	s.linksMu.Lock()
	var sess *Session
	for _, l := range s.links {
		if l.room == roomName && l.identity == identity {
			l.mu.Lock()
			sess = l.sess
			l.mu.Unlock()
		}
	}
	s.linksMu.Unlock()
	if sess == nil {
		return false
	}
	_ = sess.conn.NetConn().Close()
	return true
}
