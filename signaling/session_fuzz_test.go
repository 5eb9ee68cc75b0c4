package signaling

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room"
)

// FuzzSessionFrames runs a real Session over a loopback WebSocket and sends it what a client
// could: text and binary frames, frames around and over the size limit, invalid UTF-8,
// malformed JSON, valid JSON of every message type (client's and server's), WebSocket pings.
// It checks that only client messages reach the handler, each exactly as decoded; that every
// other frame gets its error reply, in order, with its request id; that a ping without id is
// answered by the session itself; and that the session stays alive (a ping with an id,
// answered by the handler as a participant would, comes back) and ends when the client goes.
// The session's rate limits may drop frames: after a rate_limited error, replies and handled
// messages need only be in order, each as expected.
func FuzzSessionFrames(f *testing.F) {
	for _, s := range sessionSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		srv := sessionServer(t)
		frames := fuzzFrames(b)
		c, h := srv.dial(t)
		defer func() {
			_ = c.Close()
			select { // the session ends with its client
			case <-h.ended:
			case <-time.After(10 * time.Second):
				t.Error("the session did not end after its client closed")
			}
		}()
		var want []protocol.Message // replies, in order
		var wantHandled []protocol.Message
		for _, fr := range frames {
			if err := fr.send(c); err != nil {
				t.Fatalf("the session closed the connection: %v", err)
			}
			reply, handled := expectedOutcome(fr)
			if reply != nil {
				want = append(want, reply)
			}
			if handled != nil {
				wantHandled = append(wantHandled, handled)
				if p, ok := handled.(*protocol.Ping); ok {
					want = append(want, &protocol.Pong{ID: p.ID, TS: p.TS}) // the handler's answer
				}
			}
		}
		got, limited := readToBarrier(t, c)
		checkInOrder(t, "replies", got, want, limited)
		checkInOrder(t, "handled messages", h.handled(), wantHandled, limited)
	})
}

const maxSessionFrames = 20

// frame is one WebSocket frame a client sends.
type frame struct {
	kind int // websocket.TextMessage, BinaryMessage or PingMessage
	data []byte
}

func (f frame) send(c *websocket.Conn) error {
	_ = c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if f.kind == websocket.PingMessage {
		return c.WriteControl(websocket.PingMessage, f.data, time.Now().Add(10*time.Second))
	}
	return c.WriteMessage(f.kind, f.data)
}

// fuzzFrames reads the input as records: 1 byte kind, 2 bytes length, data. Kinds: a text
// frame, a binary frame, a message of type data[0] of sampleMessages with id data[1:], a
// frame of data repeated to 64 KiB - 128 + data[0] bytes, an offer of that size, a WebSocket
// ping.
func fuzzFrames(b []byte) []frame {
	var out []frame
	for len(b) >= 3 && len(out) < maxSessionFrames {
		kind, n := b[0]%6, int(binary.BigEndian.Uint16(b[1:3]))
		b = b[3:]
		n = min(n, len(b))
		data := b[:n]
		b = b[n:]
		arg := byte(0)
		if len(data) > 0 {
			arg = data[0]
		}
		size := protocol.MaxMessageSize - 128 + int(arg)
		switch kind {
		case 0:
			out = append(out, frame{websocket.TextMessage, data})
		case 1:
			out = append(out, frame{websocket.BinaryMessage, data})
		case 2:
			out = append(out, frame{websocket.TextMessage, sampleMessage(int(arg), data[min(1, n):])})
		case 3:
			fill := data[min(1, n):]
			if len(fill) == 0 {
				fill = []byte("a")
			}
			out = append(out, frame{websocket.TextMessage, bytes.Repeat(fill, size/len(fill)+1)[:size]})
		case 4:
			head := `{"type":"offer","target":"publisher","sdp":"`
			out = append(out, frame{websocket.TextMessage, []byte(head + strings.Repeat("a", max(size-len(head)-2, 0)) + `"}`)})
		case 5:
			out = append(out, frame{websocket.PingMessage, data[:min(n, 125)]})
		}
	}
	return out
}

// sampleMessage is a valid message of each type (index i modulo their number), with id as
// its request id where it has one.
func sampleMessage(i int, id []byte) []byte {
	sid, yes := string(id), true
	name, idx := "Ann", uint16(0)
	info := protocol.ParticipantInfo{Sid: "PA_1", Identity: "ann", Tracks: []protocol.TrackInfo{}}
	msgs := []protocol.Message{
		&protocol.Offer{ID: sid, Target: protocol.TargetPublisher, SDP: "v=0\r\n"},
		&protocol.Answer{ID: sid, Target: protocol.TargetSubscriber, SDP: "v=0\r\n"},
		&protocol.Candidate{Target: protocol.TargetPublisher, Candidate: &protocol.ICECandidate{Candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host", SDPMid: &sid, SDPMLineIndex: &idx}},
		&protocol.Leave{Reason: sid},
		&protocol.Publish{ID: sid, CID: "c" + sid, Kind: protocol.KindVideo, Source: protocol.SourceCamera, Layers: []protocol.Layer{{RID: "q"}}},
		&protocol.Unpublish{ID: sid, TrackSid: "TR_" + sid},
		&protocol.Mute{ID: sid, TrackSid: "TR_" + sid, Muted: true},
		&protocol.Subscribe{ID: sid, TrackSids: []string{"TR_" + sid}, Subscribe: true},
		&protocol.TrackSettings{ID: sid, TrackSid: "TR_" + sid, Enabled: &yes, Width: 640},
		&protocol.UpdateMetadata{ID: sid, Name: &name, Metadata: &sid},
		&protocol.Ping{ID: sid, TS: 42},
		&protocol.Ping{TS: 43},
		&protocol.Joined{Participant: info, Participants: []protocol.ParticipantInfo{}, ICEServers: []protocol.ICEServer{}},
		&protocol.JoinedParticipants{Participants: []protocol.ParticipantInfo{info}},
		&protocol.ParticipantJoined{Participant: info},
		&protocol.ParticipantUpdated{Participant: info},
		&protocol.ParticipantLeft{Sid: sid},
		&protocol.TrackPublished{ParticipantSid: "PA_1", Track: protocol.TrackInfo{Sid: sid}},
		&protocol.TrackUnpublished{ParticipantSid: "PA_1", TrackSid: sid},
		&protocol.TrackSubscribed{ParticipantSid: "PA_1", TrackSid: sid, Mid: "0"},
		&protocol.StreamState{TrackSid: sid, State: "active"},
		&protocol.ActiveSpeakers{Speakers: []protocol.SpeakerInfo{{Sid: sid, Level: 0.5}}},
		&protocol.SubscribedLayers{TrackSid: sid, Layers: []protocol.LayerState{{RID: "q", Active: true}}},
		&protocol.ConnectionQuality{Updates: []protocol.QualityUpdate{{Sid: sid, Quality: "good"}}},
		&protocol.Published{ID: sid, CID: "c", Track: protocol.TrackInfo{Sid: "TR_1"}},
		&protocol.Error{ID: sid, Code: protocol.CodeInternal, Message: "x"},
		&protocol.Pong{ID: sid, TS: 1},
	}
	b, err := protocol.Encode(msgs[i%len(msgs)])
	if err != nil {
		b, _ = json.Marshal(map[string]string{"type": msgs[i%len(msgs)].MessageType(), "id": sid})
	}
	return b
}

// expectedOutcome is what the session must do with one frame: reply (an error, or a pong for
// a ping without id) or hand a message to the handler.
func expectedOutcome(f frame) (reply, handled protocol.Message) {
	switch {
	case f.kind == websocket.PingMessage:
		return nil, nil // WebSocket's own: answered by the library, not the protocol
	case f.kind != websocket.TextMessage, len(f.data) > protocol.MaxMessageSize:
		return &protocol.Error{Code: protocol.CodeBadRequest}, nil
	}
	m, err := protocol.Decode(f.data)
	var perr *protocol.Error
	switch {
	case errors.As(err, &perr):
		return &protocol.Error{ID: perr.ID, Code: perr.Code}, nil
	case err != nil:
		panic(err)
	case !protocol.ClientTypes[m.MessageType()]:
		return &protocol.Error{ID: protocol.RequestID(m), Code: protocol.CodeBadRequest}, nil
	}
	if p, ok := m.(*protocol.Ping); ok && p.ID == "" {
		return &protocol.Pong{TS: p.TS}, nil
	}
	return nil, m
}

// readToBarrier sends a ping with a fresh id and reads every reply until its pong; it reports
// whether a rate_limited error came. A barrier the rate limits dropped is sent again.
func readToBarrier(t *testing.T, c *websocket.Conn) (got []protocol.Message, limited bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for attempt := 1; ; attempt++ {
		id := fmt.Sprintf("%s%d", barrierPrefix, attempt)
		if err := c.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping","id":"`+id+`","ts":7}`)); err != nil {
			t.Fatalf("the session closed the connection: %v", err)
		}
		wait := 2 * time.Second
		if !limited {
			wait = time.Until(deadline)
		}
		_ = c.SetReadDeadline(time.Now().Add(wait))
		for {
			_, b, err := c.ReadMessage()
			if err != nil {
				if limited && time.Now().Before(deadline) && isTimeout(err) {
					break // the barrier was dropped: the buckets refill, send another
				}
				t.Fatalf("the session ended or did not answer its ping (%v); replies so far: %s", err, describe(got))
			}
			m, err := protocol.Decode(b)
			if err != nil {
				t.Fatalf("the session sent a frame that does not decode (%v): %.200q", err, b)
			}
			if p, ok := m.(*protocol.Pong); ok && strings.HasPrefix(p.ID, barrierPrefix) {
				if p.ID == id {
					return got, limited
				}
				continue // an earlier barrier, dropped then answered? never: dropped frames are gone
			}
			if e, ok := m.(*protocol.Error); ok && e.Code == protocol.CodeRateLimited {
				limited = true
				continue
			}
			if l, ok := m.(*protocol.Leave); ok {
				t.Fatalf("the session was closed (leave %q) after %s", l.Reason, describe(got))
			}
			got = append(got, m)
		}
	}
}

// barrierPrefix starts the test's own ping ids: unknown to the fuzzer, so never in its frames.
var barrierPrefix = fmt.Sprintf("barrier-%x-", time.Now().UnixNano())

func isTimeout(err error) bool {
	var ne interface{ Timeout() bool }
	return errors.As(err, &ne) && ne.Timeout()
}

// checkInOrder compares what came with what was expected: the same, in order; after a
// rate_limited error (limited), in order with any of the expected missing.
func checkInOrder(t *testing.T, what string, got, want []protocol.Message, limited bool) {
	t.Helper()
	j := 0
	for i, g := range got {
		for j < len(want) && !sameMessage(g, want[j]) {
			if !limited {
				t.Fatalf("%s: #%d is %s, want %s\ngot:  %s\nwant: %s", what, i, describe(got[i:i+1]), describe(want[j:j+1]),
					describe(got), describe(want))
			}
			j++
		}
		if j == len(want) {
			t.Fatalf("%s: #%d (%s) was not expected\ngot:  %s\nwant: %s", what, i, describe(got[i:i+1]), describe(got), describe(want))
		}
		j++
	}
	if !limited && j != len(want) {
		t.Fatalf("%s: %d missing\ngot:  %s\nwant: %s", what, len(want)-j, describe(got), describe(want))
	}
}

// sameMessage: errors by code and id (their text is free), anything else exactly.
func sameMessage(got, want protocol.Message) bool {
	if w, ok := want.(*protocol.Error); ok {
		g, ok := got.(*protocol.Error)
		return ok && g.Code == w.Code && g.ID == w.ID
	}
	return reflect.DeepEqual(got, want)
}

func describe(ms []protocol.Message) string {
	var b strings.Builder
	for _, m := range ms {
		enc, _ := protocol.Encode(m)
		fmt.Fprintf(&b, "%.120s ", enc)
	}
	return b.String()
}

// fuzzHandler is a participant as the session sees it: it keeps what reached it and answers
// pings with an id through the session, as Participant.Handle does from its queue.
type fuzzHandler struct {
	sess  *Session
	mu    sync.Mutex
	msgs  []protocol.Message
	ended chan struct{}
}

func (h *fuzzHandler) Handle(m protocol.Message) {
	if p, ok := m.(*protocol.Ping); ok && strings.HasPrefix(p.ID, barrierPrefix) {
		h.sess.Send(&protocol.Pong{ID: p.ID, TS: p.TS})
		return
	}
	h.mu.Lock()
	h.msgs = append(h.msgs, m)
	h.mu.Unlock()
	if p, ok := m.(*protocol.Ping); ok {
		h.sess.Send(&protocol.Pong{ID: p.ID, TS: p.TS})
	}
}

func (h *fuzzHandler) handled() []protocol.Message {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]protocol.Message(nil), h.msgs...)
}

// sessionSrv is one HTTP server per fuzzing process; each connection runs a Session as
// handleRTC does, with the handler registered under the id in its URL.
type sessionSrv struct {
	url      string
	limits   room.Limits
	next     atomic.Int64
	handlers sync.Map // id -> *fuzzHandler
}

var (
	sessionSrvOnce sync.Once
	sessionSrvP    *sessionSrv
)

func sessionServer(t *testing.T) *sessionSrv {
	sessionSrvOnce.Do(func() {
		s := &sessionSrv{limits: room.NewManager(room.Config{}, nil).Limits()}
		up := websocket.Upgrader{}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			v, ok := s.handlers.LoadAndDelete(r.URL.Query().Get("id"))
			if !ok {
				http.Error(w, "unknown id", http.StatusNotFound)
				return
			}
			h := v.(*fuzzHandler)
			defer close(h.ended)
			conn, err := up.Upgrade(w, r, nil)
			if err != nil {
				return
			}
			sess := newSession(conn, slog.New(slog.DiscardHandler), s.limits)
			h.sess = sess
			sess.readLoop(h)
			sess.Close()
			<-sess.Done()
		}))
		s.url = "ws" + strings.TrimPrefix(srv.URL, "http")
		sessionSrvP = s // the server lives as long as the fuzzing process
	})
	return sessionSrvP
}

func (s *sessionSrv) dial(t *testing.T) (*websocket.Conn, *fuzzHandler) {
	id := fmt.Sprint(s.next.Add(1))
	h := &fuzzHandler{ended: make(chan struct{})}
	s.handlers.Store(id, h)
	c, _, err := websocket.DefaultDialer.Dial(s.url+"/?id="+id, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c, h
}

// sessionSeeds: a browser's first frames, every message type, malformed and oversized frames.
func sessionSeeds() [][]byte {
	rec := func(kind byte, data string) []byte {
		return append([]byte{kind, byte(len(data) >> 8), byte(len(data))}, data...)
	}
	join := func(rs ...[]byte) []byte { return bytes.Join(rs, nil) }
	var all [][]byte
	for i := 0; i < 27; i += 9 { // every message type, nine a seed
		var rs [][]byte
		for j := i; j < i+9; j++ {
			rs = append(rs, rec(2, string([]byte{byte(j)})+fmt.Sprint("r", j)))
		}
		all = append(all, join(rs...))
	}
	return append(all,
		join(rec(0, `{"type":"publish","id":"1","cid":"cam","kind":"video","source":"camera"}`),
			rec(0, `{"type":"offer","id":"2","target":"publisher","sdp":"v=0\r\n"}`),
			rec(0, `{"type":"candidate","target":"publisher","candidate":null}`),
			rec(0, `{"type":"ping","ts":5}`), rec(0, `{"type":"ping","id":"p","ts":6}`)),
		join(rec(0, "{\"type\":\"ping\",\"id\":\"\xff\"}"), rec(0, `{"type":"ping","id":7}`), rec(0, `{"type":42}`),
			rec(0, `{"type":"nope","id":"n"}`), rec(0, `{"id":"x"}`), rec(0, `[`), rec(0, ``),
			rec(1, `{"type":"ping","ts":1}`), rec(5, `hello`),
			rec(0, `{"type":"subscribe","id":"s","trackSids":[],"subscribe":true}`),
			rec(0, `{"type":"mute","id":"`+strings.Repeat("i", 129)+`","trackSid":"TR_1"}`)),
		join(rec(3, "\x80{"), rec(3, "\xff"), rec(4, "\x7f"), rec(4, "\x80"), rec(4, "\xff"), rec(0, `{"type":"ping"}`)),
	)
}
