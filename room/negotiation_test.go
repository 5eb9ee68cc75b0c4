package room

import (
	"slices"
	"testing"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room/peer"
)

// TestOfferWaitsForTheAnswer: while a subscriber offer waits for its answer, changes make no
// offer (it would glare with the answer); the answer lets exactly one follow, carrying them all.
func TestOfferWaitsForTheAnswer(t *testing.T) {
	r := newTestRoom(t)
	ann := r.join(t, "ann", publisher)
	bob := r.join(t, "bob", subscriber)
	mic := ann.publish(t, "mic", protocol.KindAudio)
	bob.flush(t)
	if len(bob.peer.offers) != 2 || !bob.offerInFlightNow(t) {
		t.Fatalf("%d offers, want the first and one for the track", len(bob.peer.offers))
	}
	cam := ann.publish(t, "cam", protocol.KindVideo)
	screen := ann.publish(t, "screen", protocol.KindVideo)
	bob.flush(t)
	if len(bob.peer.offers) != 2 {
		t.Fatalf("%d offers while one was in flight, want none more", len(bob.peer.offers)-2)
	}
	if got, want := bob.peer.sentTracks(), sids(mic, cam, screen); !slices.Equal(got, want) {
		t.Fatalf("bob receives %v, want %v", got, want)
	}
	bob.sink.take()
	bob.answer(t)
	if len(bob.peer.offers) != 3 {
		t.Fatalf("%d offers after the answer, want 3", len(bob.peer.offers))
	}
	msgs := bob.sink.take()
	if n := len(messagesOf[*protocol.TrackSubscribed](msgs)); n != 2 {
		t.Fatalf("the offer after the answer announced %d tracks, want 2", n)
	}
	bob.answer(t)
	if len(bob.peer.offers) != 3 || bob.offerInFlightNow(t) {
		t.Fatal("an answer with nothing changed made another offer")
	}
}

// TestPublisherOfferSuperseded: of two publisher offers waiting, the older is refused
// (superseded) without being applied and the newer is answered.
func TestPublisherOfferSuperseded(t *testing.T) {
	r := newTestRoom(t)
	ann := r.join(t, "ann", publisher)
	release := ann.hold(t)
	ann.Handle(&protocol.Offer{ID: "o1", Target: protocol.TargetPublisher, SDP: "first"})
	ann.Handle(&protocol.Offer{ID: "o2", Target: protocol.TargetPublisher, SDP: "second"})
	release()
	if !slices.Equal(ann.peer.pubAnswered, []string{"second"}) {
		t.Fatalf("publisher offers applied: %v, want only the newest", ann.peer.pubAnswered)
	}
	msgs := ann.sink.take()
	errs := messagesOf[*protocol.Error](msgs)
	if len(errs) != 1 || errs[0].ID != "o1" || errs[0].Code != protocol.CodeSuperseded {
		t.Fatalf("errors %+v, want o1 superseded", errs)
	}
	answers := messagesOf[*protocol.Answer](msgs)
	if len(answers) != 1 || answers[0].ID != "o2" || answers[0].Target != protocol.TargetPublisher {
		t.Fatalf("answers %+v, want one to o2", answers)
	}
}

// TestNegotiationRefusals: what the client may not negotiate is refused with the right code and
// leaves the connections alone, even with a subscriber offer waiting for its answer.
func TestNegotiationRefusals(t *testing.T) {
	r := newTestRoom(t)
	ann := r.join(t, "ann", publisher)
	ann.Handle(&protocol.Answer{ID: "0", Target: protocol.TargetSubscriber, SDP: "answer"})
	ann.flush(t)
	if e := messagesOf[*protocol.Error](ann.sink.take()); len(e) != 1 || e[0].Code != protocol.CodeBadRequest {
		t.Fatalf("an answer with no offer waiting: errors %+v, want bad_request", e)
	}
	bob := r.join(t, "bob", subscriber)
	ann.publish(t, "mic", protocol.KindAudio)
	bob.flush(t)
	answers := len(bob.peer.answers)
	for _, c := range []struct {
		name string
		m    protocol.Message
	}{
		{"answer for the publisher", &protocol.Answer{ID: "1", Target: protocol.TargetPublisher, SDP: "answer"}},
		{"offer for the subscriber", &protocol.Offer{ID: "2", Target: protocol.TargetSubscriber, SDP: "offer"}},
		{"unparsable publisher offer", &protocol.Offer{ID: "3", Target: protocol.TargetPublisher, SDP: "bad"}},
		{"unparsable answer", &protocol.Answer{ID: "4", Target: protocol.TargetSubscriber, SDP: "bad"}},
	} {
		bob.Handle(c.m)
		bob.flush(t)
		errs := messagesOf[*protocol.Error](bob.sink.take())
		if len(errs) != 1 || errs[0].ID != protocol.RequestID(c.m) || errs[0].Code != protocol.CodeBadRequest {
			t.Errorf("%s: errors %+v, want one bad_request", c.name, errs)
		}
	}
	if len(bob.peer.answers) != answers || len(bob.peer.pubAnswered) != 0 {
		t.Fatalf("refused requests reached the connections: answers %v, publisher offers %v",
			bob.peer.answers[answers:], bob.peer.pubAnswered)
	}
	if !bob.offerInFlightNow(t) {
		t.Fatal("a refused answer ended the offer in flight")
	}
	bob.answer(t) // the offer still takes a good answer
}

// TestCandidates: candidates go to the connection they name, and past the peer's limit the
// client hears limit.
func TestCandidates(t *testing.T) {
	r := newTestRoom(t)
	ann := r.join(t, "ann", publisher)
	cand := &protocol.ICECandidate{Candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host"}
	ann.Handle(&protocol.Candidate{Target: protocol.TargetSubscriber, Candidate: cand})
	ann.Handle(&protocol.Candidate{Target: protocol.TargetPublisher, Candidate: nil}) // end of candidates
	ann.Handle(&protocol.Candidate{Target: protocol.TargetPublisher, Candidate: cand})
	ann.Handle(&protocol.Candidate{Target: protocol.TargetPublisher, Candidate: cand})
	ann.flush(t)
	if !slices.Equal(ann.peer.candidates, []peer.Side{peer.Subscriber, peer.Publisher}) {
		t.Fatalf("candidates went to %v", ann.peer.candidates)
	}
	if e := messagesOf[*protocol.Error](ann.sink.take()); len(e) != 1 || e[0].Code != protocol.CodeLimit {
		t.Fatalf("errors %+v, want one limit", e)
	}
}

// TestSlowConsumerClosedOnce: a receiver that does not read its reliable data is closed once
// (leave slow_consumer) and counted once, however many messages keep coming; a lossy message
// over its budget is counted as dropped.
func TestSlowConsumerClosedOnce(t *testing.T) {
	r := newTestRoom(t)
	bob := r.join(t, "bob", subscriber)
	bob.peer.data = peer.DataDropped
	bob.sendData(peer.Lossy, []byte("x"), true)
	bob.peer.data = peer.DataSlow
	bob.sendData(peer.Reliable, []byte("x"), true)
	bob.sendData(peer.Reliable, []byte("x"), true)
	<-bob.Done()
	d := r.manager.Drops()
	if d.DataLossy != 1 || d.SlowConsumers != 1 {
		t.Fatalf("drops %+v, want one lossy and one slow consumer", d)
	}
	leaves := messagesOf[*protocol.Leave](bob.sink.take())
	if len(leaves) != 1 || leaves[0].Reason != protocol.LeaveSlowConsumer {
		t.Fatalf("leave %+v, want slow_consumer", leaves)
	}
}
