package trickle

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/client/pionapi"
	"github.com/podium-sfu/podium/protocol"
)

// warnings counts the records at Warn and above: a candidate pion rejected.
type warnings struct{ n atomic.Int32 }

func (w *warnings) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (w *warnings) Handle(context.Context, slog.Record) error    { w.n.Add(1); return nil }
func (w *warnings) WithAttrs([]slog.Attr) slog.Handler           { return w }
func (w *warnings) WithGroup(string) slog.Handler                { return w }

func newPC(t *testing.T) *webrtc.PeerConnection {
	t.Helper()
	api, err := pionapi.New(pionapi.Config{Logger: slog.New(slog.DiscardHandler), Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	return pc
}

// Two real connections on loopback whose descriptions carry no candidates, so that they can
// connect only through what trickles: the offerer's candidates wait for its offer to go, the
// answerer applies them only after the offer, and the same the other way; nothing is rejected.
func TestCandidatesFollowTheirDescription(t *testing.T) {
	w := &warnings{}
	log := slog.New(w)
	pc1, pc2 := newPC(t), newPC(t)
	if _, err := pc1.CreateDataChannel("x", nil); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var sent []string // what the offerer sent, in order
	var p1, p2 *Peer
	p1 = New(pc1, protocol.TargetPublisher, func(m protocol.Message) error {
		mu.Lock()
		sent = append(sent, m.MessageType())
		mu.Unlock()
		if c, ok := m.(*protocol.Candidate); ok {
			p2.AddRemoteCandidate(c.Candidate)
		}
		return nil
	}, log)
	p2 = New(pc2, protocol.TargetPublisher, func(m protocol.Message) error {
		switch m := m.(type) {
		case *protocol.Answer:
			return p1.SetRemote(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m.SDP})
		case *protocol.Candidate:
			p1.AddRemoteCandidate(m.Candidate)
		}
		return nil
	}, log)

	offer, err := pc1.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc1)
	if err := pc1.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gathered:
	case <-time.After(10 * time.Second):
		t.Fatal("no candidates gathered")
	}
	mu.Lock()
	early := len(sent)
	mu.Unlock()
	if early != 0 {
		t.Fatalf("%d messages sent before the offer", early)
	}
	// The offer goes, then its candidates, which the answerer holds: it has no offer yet.
	if err := p1.SendDescription(&protocol.Offer{Target: protocol.TargetPublisher, SDP: offer.SDP}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	order := append([]string(nil), sent...)
	mu.Unlock()
	if len(order) < 3 || order[0] != "offer" || order[1] != "candidate" {
		t.Fatalf("sent %v, want the offer, then its candidates and their end", order)
	}

	if err := p2.SetRemote(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer.SDP}); err != nil {
		t.Fatal(err)
	}
	answer, err := pc2.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc2.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	if err := p2.SendDescription(&protocol.Answer{Target: protocol.TargetPublisher, SDP: answer.SDP}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second) // loopback connects in well under a second
	for pc1.ConnectionState() != webrtc.PeerConnectionStateConnected ||
		pc2.ConnectionState() != webrtc.PeerConnectionStateConnected {
		if time.Now().After(deadline) {
			t.Fatalf("not connected: %s, %s", pc1.ConnectionState(), pc2.ConnectionState())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := w.n.Load(); n != 0 {
		t.Errorf("%d candidates rejected", n)
	}
}
