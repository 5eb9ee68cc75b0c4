package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/client"
	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/testmedia"
)

// signalTap is a WebSocket proxy between one client and a node. It records the subscriber
// offers and answers that pass, in causal order: an answer is recorded just before it is
// forwarded, and the server may only send its next offer after receiving that answer, so an
// offer sent while another was outstanding shows as two offers in a row. It holds each answer
// for answerDelay first: a slow client, which keeps an offer outstanding long enough for
// changes to pile up behind it.
type signalTap struct {
	srv         *httptest.Server
	node        string
	answerDelay time.Duration
	mu          sync.Mutex
	log         []string // "offer" or "answer", subscriber target only
	conns       []*websocket.Conn
	wg          sync.WaitGroup
	// rewriteUp, when set, changes each client message before it reaches the node: another
	// client's habits (Firefox's msid) without another client.
	rewriteUp func(protocol.Message) protocol.Message
	down      []string // the node's offers, answers and candidates: "offer publisher", "candidate subscriber"…
}

func (tap *signalTap) recordDown(m protocol.Message) {
	var what string
	switch m := m.(type) {
	case *protocol.Offer:
		what = "offer " + m.Target
	case *protocol.Answer:
		what = "answer " + m.Target
	case *protocol.Candidate:
		what = "candidate " + m.Target
	default:
		return
	}
	tap.mu.Lock()
	tap.down = append(tap.down, what)
	tap.mu.Unlock()
}

// checkCandidatesFollowDescriptions fails the test if the node sent a candidate for a
// connection before the description (offer or answer) it belongs to.
func (tap *signalTap) checkCandidatesFollowDescriptions(t *testing.T) {
	t.Helper()
	tap.mu.Lock()
	defer tap.mu.Unlock()
	described := map[string]bool{}
	for i, what := range tap.down {
		kind, target, _ := strings.Cut(what, " ")
		switch kind {
		case "offer", "answer":
			described[target] = true
		case "candidate":
			if !described[target] {
				t.Fatalf("the node's message %d is a %s candidate before any %s description: %v", i, target, target, tap.down)
			}
		}
	}
}

func newSignalTap(t *testing.T, n *Node, answerDelay time.Duration) *signalTap {
	tap := &signalTap{node: n.URL(), answerDelay: answerDelay}
	tap.srv = httptest.NewServer(http.HandlerFunc(tap.serve))
	t.Cleanup(func() {
		tap.mu.Lock()
		for _, c := range tap.conns {
			_ = c.Close()
		}
		tap.mu.Unlock()
		tap.wg.Wait()
		tap.srv.Close()
	})
	return tap
}

func (tap *signalTap) URL() string { return "ws" + strings.TrimPrefix(tap.srv.URL, "http") }

func (tap *signalTap) serve(w http.ResponseWriter, r *http.Request) {
	up, resp, err := websocket.DefaultDialer.Dial(tap.node+r.URL.RequestURI(), nil)
	if err != nil {
		status := http.StatusBadGateway
		if resp != nil {
			status = resp.StatusCode
		}
		http.Error(w, err.Error(), status)
		return
	}
	upgrader := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	down, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		_ = up.Close()
		return
	}
	tap.mu.Lock()
	tap.conns = append(tap.conns, up, down)
	tap.mu.Unlock()
	tap.wg.Add(1)
	go func() { // server to client; the handler runs client to server
		defer tap.wg.Done()
		tap.pump(up, down, true, nil)
	}()
	tap.pump(down, up, false, tap.rewriteUp)
}

// pump copies frames from one side to the other, recording subscriber offers and answers
// before they are forwarded. Either side ending closes both.
func (tap *signalTap) pump(from, to *websocket.Conn, fromNode bool, rewrite func(protocol.Message) protocol.Message) {
	defer from.Close()
	defer to.Close()
	for {
		kind, data, err := from.ReadMessage()
		if err != nil {
			return
		}
		if m, err := protocol.Decode(data); err == nil {
			if fromNode {
				tap.recordDown(m)
			}
			switch m := m.(type) {
			case *protocol.Offer:
				tap.record("offer", m.Target)
			case *protocol.Answer:
				if m.Target == protocol.TargetSubscriber {
					time.Sleep(tap.answerDelay) // fault injection: a slow client
				}
				tap.record("answer", m.Target)
			}
			if rewrite != nil {
				if data, err = protocol.Encode(rewrite(m)); err != nil {
					return
				}
			}
		}
		if err := to.WriteMessage(kind, data); err != nil {
			return
		}
	}
}

func (tap *signalTap) record(what, target string) {
	if target != protocol.TargetSubscriber {
		return
	}
	tap.mu.Lock()
	tap.log = append(tap.log, what)
	tap.mu.Unlock()
}

func (tap *signalTap) sequence() []string {
	tap.mu.Lock()
	defer tap.mu.Unlock()
	return append([]string(nil), tap.log...)
}

// checkAlternating fails the test if the subscriber offers and answers so far do not
// alternate, starting with an offer.
func (tap *signalTap) checkAlternating(t *testing.T) {
	t.Helper()
	seq := tap.sequence()
	for i, what := range seq {
		if want := []string{"offer", "answer"}[i%2]; what != want {
			t.Fatalf("subscriber signalling %v: item %d is %q, want %q (an offer while one was outstanding)", seq, i, what, want)
		}
	}
}

// activeSections returns the msid of each audio or video section of an SDP that sends media.
func activeSections(t *testing.T, raw string) []string {
	t.Helper()
	var s sdp.SessionDescription
	if err := s.Unmarshal([]byte(raw)); err != nil {
		t.Fatalf("bad SDP: %v", err)
	}
	var out []string
	for _, md := range s.MediaDescriptions {
		if md.MediaName.Media == "application" || md.MediaName.Port.Value == 0 {
			continue
		}
		_, sendonly := md.Attribute(webrtc.RTPTransceiverDirectionSendonly.String())
		_, sendrecv := md.Attribute(webrtc.RTPTransceiverDirectionSendrecv.String())
		if sendonly || sendrecv {
			msid, _ := md.Attribute("msid")
			out = append(out, msid)
		}
	}
	return out
}

// TestRapidRenegotiation: ann publishes and unpublishes tracks back to back while bob, slow to
// answer, is subscribed. The server must serialise bob's subscriber offers (never one while
// // another is unanswered), bob must end stable without errors, see every trackPublished of a
// churned track matched by a trackUnpublished, and receive exactly the tracks ann still
// publishes.
func TestRapidRenegotiation(t *testing.T) {
	n := startNode(t)
	tap := newSignalTap(t, n, 150*time.Millisecond)
	ann := connect(t, n, "churn", "ann")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	bob, err := client.Connect(ctx, tap.URL(), token(t, "churn", "bob", nil), client.Options{Loopback: true})
	if err != nil {
		t.Fatalf("bob: connect through the tap: %v", err)
	}
	t.Cleanup(func() { _ = bob.Close() })
	log, col := logEvents(bob), collect(bob)
	phase, phases := time.Now(), []string{}
	lap := func(name string) { // phase timings, to explain a slow run
		phases = append(phases, fmt.Sprintf("%s %v", name, time.Since(phase).Round(time.Millisecond)))
		phase = time.Now()
	}

	// A track that stays, so that ann's connection is up and the churned tracks carry media.
	mic, err := ann.PublishOgg(ctx, testmedia.Opus(), client.Microphone())
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "bob receiving ann's microphone", func() bool {
		tap.checkAlternating(t)
		s, ok := col.track(mic.Sid())
		return ok && s.packets > 5
	})

	lap("microphone")

	// One churned track that certainly reached bob, so that its removal is checked too.
	flowing, err := ann.PublishIVF(ctx, testmedia.VP8(320), client.Camera())
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "bob receiving ann's first camera", func() bool {
		tap.checkAlternating(t)
		s, ok := col.track(flowing.Sid())
		return ok && s.packets > 5
	})
	lap("first camera")
	churned := map[string]bool{flowing.Sid(): true}
	if err := ann.Unpublish(flowing.Sid()); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		var lt *client.LocalTrack
		if i%2 == 0 {
			lt, err = ann.PublishOgg(ctx, testmedia.Opus(), client.Microphone())
		} else {
			lt, err = ann.PublishIVF(ctx, testmedia.VP8(320), client.Camera())
		}
		if err != nil {
			t.Fatalf("round %d: publish: %v", i, err)
		}
		churned[lt.Sid()] = true
		if err := ann.Unpublish(lt.Sid()); err != nil {
			t.Fatalf("round %d: unpublish: %v", i, err)
		}
	}
	lap("churn")
	final, err := ann.PublishIVF(ctx, testmedia.VP8(320), client.Camera())
	if err != nil {
		t.Fatalf("final publish: %v", err)
	}

	defer func() { // on failure, say where the final track stopped
		if t.Failed() {
			s, ok := col.track(final.Sid())
			_, announced := log.find(0, func(m protocol.Message) bool {
				p, ok := m.(*protocol.TrackPublished)
				return ok && p.Track.Sid == final.Sid()
			})
			t.Logf("phases: %s", strings.Join(phases, ", "))
			t.Logf("final track %s: announced to bob %v, at bob %v %+v, ann's tracks on the server %+v",
				final.Sid(), announced >= 0, ok, s, n.Rooms().Room("churn").Participant("ann").Info().Tracks)
		}
	}()
	eventually(t, 10*time.Second, "bob receiving ann's final track", func() bool {
		tap.checkAlternating(t)
		s, ok := col.track(final.Sid())
		return ok && s.keyframes > 0 && s.packets > 10
	})
	lap("final track")
	_, sub := bob.PeerConnections()
	eventually(t, 5*time.Second, "bob's subscriber connection stable with no offer outstanding", func() bool {
		tap.checkAlternating(t)
		seq := tap.sequence()
		// Events shows a message after the client handled it: wait for the last offer there too.
		logged := 0
		log.find(0, func(m protocol.Message) bool {
			if o, ok := m.(*protocol.Offer); ok && o.Target == protocol.TargetSubscriber {
				logged++
			}
			return false
		})
		return sub.SignalingState() == webrtc.SignalingStateStable && len(seq) > 0 &&
			seq[len(seq)-1] == "answer" && logged == len(seq)/2
	})

	tap.checkAlternating(t)
	seq := tap.sequence()

	// Every event bob saw: no error, and each churned track he heard of later unpublished.
	published, unpublished := map[string]bool{}, map[string]bool{}
	var lastOffer string
	log.find(0, func(m protocol.Message) bool {
		switch m := m.(type) {
		case *protocol.Error:
			t.Errorf("bob received error %s: %s", m.Code, m.Message)
		case *protocol.TrackPublished:
			published[m.Track.Sid] = true
		case *protocol.TrackUnpublished:
			if !published[m.TrackSid] {
				t.Errorf("trackUnpublished %s without trackPublished before it", m.TrackSid)
			}
			unpublished[m.TrackSid] = true
		case *protocol.Offer:
			lastOffer = m.SDP
		}
		return false
	})
	kept := map[string]bool{mic.Sid(): true, final.Sid(): true}
	for sid := range published {
		switch {
		case kept[sid]:
		case !churned[sid]:
			t.Errorf("trackPublished for unknown track %s", sid)
		case !unpublished[sid]:
			t.Errorf("track %s published, unpublished by ann, but bob never got trackUnpublished", sid)
		}
	}
	if !unpublished[flowing.Sid()] {
		t.Errorf("bob never got trackUnpublished for %s, which reached him", flowing.Sid())
	}
	for sid := range kept {
		if !published[sid] || unpublished[sid] {
			t.Errorf("kept track %s: published %v, unpublished %v", sid, published[sid], unpublished[sid])
		}
	}

	// The server forwards exactly the kept tracks: they are the sending sections of the last
	// offer, and what the room says ann publishes.
	sending := map[string]bool{}
	for _, msid := range activeSections(t, lastOffer) {
		f := strings.Fields(msid)
		if len(f) != 2 || sending[f[1]] {
			t.Errorf("bad or repeated msid %q in bob's last offer", msid)
			continue
		}
		sending[f[1]] = true
	}
	if len(sending) != len(kept) || !sending[mic.Sid()] || !sending[final.Sid()] {
		t.Errorf("bob's last subscriber offer sends %v, want %v", sending, kept)
	}
	// Each m-section, removed tracks' too, offers its track's codec only (but the first of each
	// kind, which teaches pion every codec the client takes): a subscriber offer must fit one
	// signalling frame.
	var offered sdp.SessionDescription
	if err := offered.UnmarshalString(lastOffer); err != nil {
		t.Fatal(err)
	}
	firstOfKind := map[string]bool{}
	for _, md := range offered.MediaDescriptions {
		kind := md.MediaName.Media
		if kind == "application" {
			continue
		}
		if !firstOfKind[kind] {
			firstOfKind[kind] = true
			continue
		}
		if len(md.MediaName.Formats) != 1 {
			t.Errorf("bob's last offer has a %s m-section with codecs %v, want one", kind, md.MediaName.Formats)
		}
	}
	tracks := n.Rooms().Room("churn").Participant("ann").Info().Tracks
	if len(tracks) != len(kept) || !kept[tracks[0].Sid] || !kept[tracks[1].Sid] {
		t.Errorf("ann publishes %+v, want %v", tracks, kept)
	}
	t.Logf("%d of %d churned tracks reached bob; %d subscriber offers; %s",
		len(published)-len(kept), len(churned), len(seq)/2, strings.Join(phases, ", "))
}

// TestClosedSubscriberConnectionIsNotAnError: a client that closes its subscriber connection
// (DTLS close_notify, which makes pion close the server's side) is on its way out. When the room
// changes before its session ends, the renegotiation it would need is skipped quietly: a room
// emptying at the end of a meeting logged one ERROR per participant.
func TestClosedSubscriberConnectionIsNotAnError(t *testing.T) {
	logs := &logRecorder{}
	n := startNodeWith(t, func(c *Config) { c.Logger = slog.New(logs) })
	ann, bob := connect(t, n, "closing", "ann"), connect(t, n, "closing", "bob")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	col := collect(bob)
	mic, err := ann.PublishOgg(ctx, testmedia.Opus(), client.Microphone())
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "bob receiving ann's microphone", func() bool {
		s, ok := col.track(mic.Sid())
		return ok && s.packets > 5
	})
	_, sub := bob.PeerConnections()
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the server closing bob's subscriber connection", func() bool {
		return logs.count("DEBUG connection state target=subscriber state=closed") == 1
	})
	// ann's microphone goes: bob's subscription is removed and would be renegotiated.
	if err := ann.Unpublish(mic.Sid()); err != nil {
		t.Fatal(err)
	}
	const skipped, failed = "DEBUG no subscriber offer: the connection is closed", "ERROR subscriber offer failed err=InvalidStateError: connection closed"
	eventually(t, 5*time.Second, "bob's renegotiation", func() bool { return logs.count(skipped)+logs.count(failed) > 0 })
	if got := logs.count(failed); got != 0 {
		t.Errorf("%d ERROR records for a connection the client closed", got)
	}
}

// TestSubscriberReusesMSections: a track that goes leaves its m-section to the next track of its
// kind, once the client has answered the offer that made it inactive. Three cameras in turn
// reach bob on one m-section (the mid his trackSubscribed names each time), bob decodes each,
// and his last offer has one video m-section, not three.
func TestSubscriberReusesMSections(t *testing.T) {
	n := startNode(t)
	ann, bob := connect(t, n, "reuse", "ann"), connect(t, n, "reuse", "bob")
	log, col := logEvents(bob), collect(bob)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, sub := bob.PeerConnections()
	var mids []string
	for i := range 3 {
		cam, err := ann.PublishIVF(ctx, testmedia.VP8(320), client.Camera())
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, fmt.Sprintf("bob decoding camera %d", i), func() bool {
			s, ok := col.track(cam.Sid())
			return ok && s.keyframes > 0 && s.packets > 5
		})
		m, _ := log.find(0, func(m protocol.Message) bool {
			s, ok := m.(*protocol.TrackSubscribed)
			return ok && s.TrackSid == cam.Sid()
		})
		if m == nil {
			t.Fatalf("no trackSubscribed for camera %d", i)
		}
		mid := m.(*protocol.TrackSubscribed).Mid
		mids = append(mids, mid)
		if err := ann.Unpublish(cam.Sid()); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, fmt.Sprintf("bob's answer to the offer without camera %d", i), func() bool {
			d := sub.CurrentRemoteDescription()
			return sub.SignalingState() == webrtc.SignalingStateStable && d != nil && sectionDirection(t, d.SDP, mid) == "inactive"
		})
		time.Sleep(300 * time.Millisecond) // the answer reaches the server
	}
	if mids[0] != mids[1] || mids[1] != mids[2] {
		t.Errorf("the cameras came on mids %v, want one m-section reused", mids)
	}
	var offer sdp.SessionDescription
	if err := offer.UnmarshalString(sub.CurrentRemoteDescription().SDP); err != nil {
		t.Fatal(err)
	}
	video := 0
	for _, md := range offer.MediaDescriptions {
		if md.MediaName.Media == "video" {
			video++
		}
	}
	if video != 1 {
		t.Errorf("bob's last offer has %d video m-sections after three cameras in turn, want 1", video)
	}
}

// sectionDirection is the direction attribute of the m-section with mid in an SDP.
func sectionDirection(t *testing.T, raw, mid string) string {
	t.Helper()
	var s sdp.SessionDescription
	if err := s.UnmarshalString(raw); err != nil {
		t.Fatalf("bad SDP: %v", err)
	}
	for _, md := range s.MediaDescriptions {
		if m, _ := md.Attribute("mid"); m != mid {
			continue
		}
		for _, d := range []string{"sendrecv", "sendonly", "recvonly", "inactive"} {
			if _, ok := md.Attribute(d); ok {
				return d
			}
		}
	}
	return ""
}

// TestCandidatesFollowTheirDescription: the node's candidates for a connection reach the client
// after the offer or answer they belong to, whatever goroutine gathered them (pion gathers on
// its own, and used to send from there: a browser's addIceCandidate then threw). The race was
// rare (once in 18 browser runs), so several clients each publish and subscribe here.
func TestCandidatesFollowTheirDescription(t *testing.T) {
	n := startNode(t)
	var taps []*signalTap
	for i := range 6 {
		tap := newSignalTap(t, n, 0)
		taps = append(taps, tap)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, err := client.Connect(ctx, tap.URL(), token(t, "cands", fmt.Sprint("p", i), nil), client.Options{Loopback: true})
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		if _, err := c.PublishOgg(ctx, testmedia.Opus(), client.Microphone()); err != nil {
			cancel()
			t.Fatal(err)
		}
		cancel()
		t.Cleanup(func() { _ = c.Close() })
	}
	for _, tap := range taps {
		eventually(t, 10*time.Second, "candidates for both connections", func() bool {
			tap.mu.Lock()
			defer tap.mu.Unlock()
			return slices.Contains(tap.down, "candidate publisher") && slices.Contains(tap.down, "candidate subscriber")
		})
		tap.checkCandidatesFollowDescriptions(t)
	}
}
