package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/client"
	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/sfu/codec"
)

const (
	testKey    = "testkey"
	testSecret = "test-secret-that-is-long-enough-0123456789"
)

// startNode runs a node on free loopback ports and stops it when the test ends.
func startNode(t testing.TB) *Node {
	t.Helper()
	return startNodeWith(t, nil)
}

// startNodeWith is startNode with changes to the node's config (edit may be nil).
func startNodeWith(t testing.TB, edit func(*Config)) *Node {
	t.Helper()
	cfg := Config{
		TCPPort: -1,
		Keys:    auth.KeyProvider{testKey: testSecret},
		Media:   sfuLoopback(),
	}
	if edit != nil {
		edit(&cfg)
	}
	n, err := Start(cfg)
	if err != nil {
		t.Fatalf("start node: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := n.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return n
}

// token mints a join token; edit changes the grant.
func token(t testing.TB, room, identity string, edit func(*auth.MintOptions)) string {
	t.Helper()
	o := auth.MintOptions{Identity: identity, Name: strings.ToUpper(identity[:1]) + identity[1:], Grant: auth.Grant{
		Room: room, RoomJoin: true, CanPublish: true, CanSubscribe: true, CanPublishData: true,
	}}
	if edit != nil {
		edit(&o)
	}
	tok, err := auth.Mint(testKey, testSecret, o)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func connect(t testing.TB, n *Node, room, identity string) *client.Client {
	t.Helper()
	return connectWith(t, n, room, identity, nil)
}

// connectWith is connect with a token whose grant edit changes.
func connectWith(t testing.TB, n *Node, room, identity string, edit func(*auth.MintOptions)) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, n.URL(), token(t, room, identity, edit), client.Options{Loopback: true})
	if err != nil {
		t.Fatalf("%s: connect: %v", identity, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// trackStats is what a subscriber observed on one remote track.
type trackStats struct {
	participant string
	kind        string
	mime        string
	packets     int
	keyframes   int
	width       int
	height      int
	seqGaps     int
	lastSeq     uint16
	started     bool
	firstKey    bool // the first packet that arrived started a keyframe
}

// received guards the stats of one track, updated by its reader.
type received struct {
	mu sync.Mutex
	trackStats
}

func (r *received) snapshot() trackStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.trackStats
}

// collector reads every track a client subscribes to and records what arrives.
type collector struct {
	mu     sync.Mutex
	tracks map[string]*received // by track sid
	wg     sync.WaitGroup
}

func collect(c *client.Client) *collector {
	col := &collector{tracks: map[string]*received{}}
	col.wg.Add(1)
	go func() { // ends when the client closes its Tracks channel
		defer col.wg.Done()
		for rt := range c.Tracks() {
			r := &received{trackStats: trackStats{participant: rt.ParticipantSid, kind: rt.Info.Kind}}
			col.mu.Lock()
			col.tracks[rt.TrackSid] = r
			col.mu.Unlock()
			col.wg.Add(1)
			go func() { // one reader per remote track, ends when the track ends
				defer col.wg.Done()
				readTrack(rt.Track, r)
			}()
		}
	}()
	return col
}

func readTrack(tr *webrtc.TrackRemote, r *received) {
	mime := tr.Codec().MimeType
	isVP8 := strings.EqualFold(mime, webrtc.MimeTypeVP8)
	isH264 := strings.EqualFold(mime, webrtc.MimeTypeH264)
	r.mu.Lock()
	r.mime = mime
	r.mu.Unlock()
	buf := make([]byte, 1600)
	var pkt rtp.Packet
	for {
		n, _, err := tr.Read(buf)
		if err != nil {
			return
		}
		if pkt.Unmarshal(buf[:n]) != nil || len(pkt.Payload) == 0 {
			continue
		}
		r.mu.Lock()
		r.packets++
		if !r.started {
			r.firstKey = isVP8 && codec.IsVP8Keyframe(pkt.Payload) || isH264 && codec.IsH264Keyframe(pkt.Payload)
		}
		if r.started && pkt.SequenceNumber != r.lastSeq+1 {
			r.seqGaps++
		}
		r.started, r.lastSeq = true, pkt.SequenceNumber
		if isVP8 && codec.IsVP8Keyframe(pkt.Payload) {
			if w, h, ok := codec.VP8KeyframeSize(pkt.Payload); ok {
				r.keyframes++
				r.width, r.height = w, h
			}
		}
		if isH264 && codec.IsH264Keyframe(pkt.Payload) { // an IDR or SPS starts here
			r.keyframes++
		}
		r.mu.Unlock()
	}
}

// byParticipant returns snapshots of what arrived from one participant, by kind.
func (col *collector) byParticipant(sid string) map[string]trackStats {
	col.mu.Lock()
	defer col.mu.Unlock()
	out := map[string]trackStats{}
	for _, r := range col.tracks {
		s := r.snapshot()
		if s.participant == sid {
			out[s.kind] = s
		}
	}
	return out
}

// track returns a snapshot of what arrived on one track, by track sid.
func (col *collector) track(sid string) (trackStats, bool) {
	col.mu.Lock()
	r, ok := col.tracks[sid]
	col.mu.Unlock()
	if !ok {
		return trackStats{}, false
	}
	return r.snapshot(), true
}

func (col *collector) count() int {
	col.mu.Lock()
	defer col.mu.Unlock()
	return len(col.tracks)
}

// eventLog records a client's events so tests can wait for one.
type eventLog struct {
	mu     sync.Mutex
	events []protocol.Message
	wg     sync.WaitGroup
}

func logEvents(c *client.Client) *eventLog {
	l := &eventLog{}
	l.wg.Add(1)
	go func() { // ends when the client closes its Events channel
		defer l.wg.Done()
		for m := range c.Events() {
			l.mu.Lock()
			l.events = append(l.events, m)
			l.mu.Unlock()
		}
	}()
	return l
}

// find returns the first event after index from that satisfies match, and its index.
func (l *eventLog) find(from int, match func(protocol.Message) bool) (protocol.Message, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := from; i < len(l.events); i++ {
		if match(l.events[i]) {
			return l.events[i], i
		}
	}
	return nil, -1
}

func (l *eventLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.events)
}

// eventually polls cond until it holds or the timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// getJSON performs an authenticated API call and decodes the answer.
func apiCall(t testing.TB, method, url, tok string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("%s %s: decode: %v", method, url, err)
		}
	}
	return resp.StatusCode
}

// logRecorder is a slog handler that counts the records it sees, by message and by level,
// message and the record's own attributes (not the logger's): "dropping data message", or
// "DEBUG connection state target=subscriber state=closed".
type logRecorder struct {
	mu   sync.Mutex
	seen map[string]int
}

// Enabled stops at debug: pion's trace records format its structs while its own goroutines write
// them (a data race in pion, seen under -race), and no test counts one.
func (l *logRecorder) Enabled(_ context.Context, level slog.Level) bool {
	return level >= slog.LevelDebug
}
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecorder) WithGroup(string) slog.Handler      { return l }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	key := r.Level.String() + " " + r.Message
	r.Attrs(func(a slog.Attr) bool {
		key += " " + a.String()
		return true
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen == nil {
		l.seen = map[string]int{}
	}
	l.seen[r.Message]++
	l.seen[key]++
	return nil
}

func (l *logRecorder) count(record string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.seen[record]
}
