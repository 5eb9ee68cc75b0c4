package sigconn

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/podium-sfu/podium/protocol"
)

// fakeServer is the server's side of one resumable session, as docs/protocol.md "Resume" has
// it: it numbers its frames (seq) and keeps them for a replay, reads the client's cseq, and
// answers `resume=TOKEN&seq=LAST` with `resumed` and the frames after LAST. The token "bad"
// is refused (401); resumes are refused while refuse says so.
type fakeServer struct {
	*httptest.Server
	t       *testing.T
	joined  []protocol.Message // joined, then joinedParticipants frames
	queries chan url.Values    // each upgrade request's query

	mu       sync.Mutex
	ws       *websocket.Conn // the current connection
	sent     [][]byte        // every numbered frame: seq n is sent[n-1]
	lastCSeq uint64          // the last client frame handled
	dups     int             // client frames received twice (cseq not above lastCSeq)
	deaf     bool            // frames read now are lost, as on a connection about to drop
	lost     int             // frames read while deaf
	refuse   string          // "409" or "error": refuse the resume that way
	got      chan protocol.Message
	wg       sync.WaitGroup
}

const resumeToken = "RT_1"

func newFakeServer(t *testing.T) *fakeServer {
	t.Helper()
	fs := &fakeServer{
		t: t, queries: make(chan url.Values, 16), got: make(chan protocol.Message, 64),
		joined: []protocol.Message{&protocol.Joined{
			Room:        protocol.RoomInfo{Name: "r1"},
			Participant: protocol.ParticipantInfo{Sid: "PA_self"},
			ResumeToken: resumeToken, ResumeWindow: 20,
		}},
	}
	fs.Server = httptest.NewServer(http.HandlerFunc(fs.handle))
	t.Cleanup(fs.close)
	return fs
}

func (fs *fakeServer) wsURL() string { return "ws" + strings.TrimPrefix(fs.URL, "http") }

func (fs *fakeServer) handle(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	fs.queries <- q
	if q.Get("access_token") == "bad" {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"code":"unauthorized","message":"token expired"}`))
		return
	}
	resume := q.Get("resume")
	fs.mu.Lock()
	refuse := fs.refuse
	fs.mu.Unlock()
	if resume != "" && (resume != resumeToken || refuse == "409") {
		w.WriteHeader(http.StatusConflict)
		_, _ = w.Write([]byte(`{"code":"conflict","message":"no such session"}`))
		return
	}
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	fs.wg.Add(1)
	defer fs.wg.Done()
	defer ws.Close()
	fs.mu.Lock()
	fs.ws, fs.deaf = ws, false
	if resume == "" {
		for _, m := range fs.joined {
			fs.sendLocked(m)
		}
	} else if refuse == "error" {
		fs.writeLocked(&protocol.Error{Code: protocol.CodeConflict, Message: "too old"})
	} else {
		after, _ := strconv.Atoi(q.Get("seq"))
		fs.writeLocked(&protocol.Resumed{LastClientSeq: fs.lastCSeq})
		for _, f := range fs.sent[min(after, len(fs.sent)):] {
			_ = ws.WriteMessage(websocket.TextMessage, f)
		}
	}
	fs.mu.Unlock()
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			return
		}
		_, cseq := protocol.FrameSeqs(data)
		m, err := protocol.Decode(data)
		if err != nil {
			fs.t.Errorf("bad frame from the client: %v", err)
			continue
		}
		fs.mu.Lock()
		switch {
		case fs.deaf:
			fs.lost++
		case cseq > 0 && cseq <= fs.lastCSeq:
			fs.dups++
		default:
			fs.lastCSeq = max(fs.lastCSeq, cseq)
			fs.got <- m
		}
		fs.mu.Unlock()
	}
}

// send numbers m and writes it on the current connection, if it is up; a frame that does not
// get through waits for a resume's replay.
func (fs *fakeServer) send(m protocol.Message) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.sendLocked(m)
}

func (fs *fakeServer) sendLocked(m protocol.Message) {
	b, err := protocol.Encode(m)
	if err != nil {
		fs.t.Fatal(err)
	}
	b = protocol.StampSeq(b, "seq", uint64(len(fs.sent)+1))
	fs.sent = append(fs.sent, b)
	if fs.ws != nil {
		_ = fs.ws.WriteMessage(websocket.TextMessage, b)
	}
}

// writeLocked writes an unnumbered frame.
func (fs *fakeServer) writeLocked(m protocol.Message) {
	b, err := protocol.Encode(m)
	if err != nil {
		fs.t.Fatal(err)
	}
	_ = fs.ws.WriteMessage(websocket.TextMessage, b)
}

// drop cuts the current connection, as a network outage does.
func (fs *fakeServer) drop() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.ws != nil {
		_ = fs.ws.NetConn().Close()
		fs.ws = nil
	}
}

func (fs *fakeServer) close() {
	fs.drop()
	fs.wg.Wait()
	fs.Server.Close()
}

// next returns the next client message the server handled, skipping pings.
func (fs *fakeServer) next(t *testing.T) protocol.Message {
	t.Helper()
	for {
		select {
		case m := <-fs.got:
			if m.MessageType() != "ping" {
				return m
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the server got nothing")
			return nil
		}
	}
}

// query returns the next upgrade request's query.
func (fs *fakeServer) query(t *testing.T) url.Values {
	t.Helper()
	select {
	case q := <-fs.queries:
		return q
	case <-time.After(5 * time.Second):
		t.Fatal("no dial")
		return nil
	}
}

// waitFor polls cond, for state the server changes on its own goroutine.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
