package participant

import (
	"errors"
	"slices"
	"testing"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room/participant/participanttest"
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
	if len(bob.peer.Offers) != 2 || !bob.offerInFlightNow(t) {
		t.Fatalf("%d offers, want the first and one for the track", len(bob.peer.Offers))
	}
	cam := ann.publish(t, "cam", protocol.KindVideo)
	screen := ann.publish(t, "screen", protocol.KindVideo)
	bob.flush(t)
	if len(bob.peer.Offers) != 2 {
		t.Fatalf("%d offers while one was in flight, want none more", len(bob.peer.Offers)-2)
	}
	if got, want := bob.peer.SentTracks(), sids(mic, cam, screen); !slices.Equal(got, want) {
		t.Fatalf("bob receives %v, want %v", got, want)
	}
	bob.sink.Take()
	bob.answer(t)
	if len(bob.peer.Offers) != 3 {
		t.Fatalf("%d offers after the answer, want 3", len(bob.peer.Offers))
	}
	msgs := bob.sink.Take()
	if n := len(participanttest.MessagesOf[*protocol.TrackSubscribed](msgs)); n != 2 {
		t.Fatalf("the offer after the answer announced %d tracks, want 2", n)
	}
	bob.answer(t)
	if len(bob.peer.Offers) != 3 || bob.offerInFlightNow(t) {
		t.Fatal("an answer with nothing changed made another offer")
	}
}

// TestPublisherOfferSuperseded: of two publisher offers waiting, the older is refused
// (superseded) without being applied and the newer is answered.
func TestPublisherOfferSuperseded(t *testing.T) {
	r := newTestRoom(t)
	ann := r.join(t, "ann", publisher)
	release := ann.hold(t)
	offer := func(id, sdp string) {
		ann.submit(id, true, func(c Control) error {
			return c.Offer(&protocol.Offer{ID: id, Target: protocol.TargetPublisher, SDP: sdp})
		})
	}
	offer("o1", "first")
	offer("o2", "second")
	release()
	if !slices.Equal(ann.peer.PubAnswered, []string{"second"}) {
		t.Fatalf("publisher offers applied: %v, want only the newest", ann.peer.PubAnswered)
	}
	msgs := ann.sink.Take()
	if errs := ann.sink.TakeRefusals(); len(errs) != 1 || errs[0].ID != "o1" || !errors.Is(errs[0].Err, ErrSuperseded) {
		t.Fatalf("refused %+v, want o1 superseded", errs)
	}
	answers := participanttest.MessagesOf[*protocol.Answer](msgs)
	if len(answers) != 1 || answers[0].ID != "o2" || answers[0].Target != protocol.TargetPublisher {
		t.Fatalf("answers %+v, want one to o2", answers)
	}
}

// TestNegotiationRefusals: what the client may not negotiate is refused with the right code and
// leaves the connections alone, even with a subscriber offer waiting for its answer.
func TestNegotiationRefusals(t *testing.T) {
	r := newTestRoom(t)
	ann := r.join(t, "ann", publisher)
	ann.do("0", func(c Control) error {
		return c.Answer(&protocol.Answer{ID: "0", Target: protocol.TargetSubscriber, SDP: "answer"})
	})
	ann.flush(t)
	if e := ann.sink.TakeRefusals(); len(e) != 1 || !badRequest(e[0].Err) {
		t.Fatalf("an answer with no offer waiting: refused %+v, want a bad request", e)
	}
	bob := r.join(t, "bob", subscriber)
	ann.publish(t, "mic", protocol.KindAudio)
	bob.flush(t)
	answers := len(bob.peer.Answers)
	for _, c := range []struct {
		name string
		run  func(Control) error
	}{
		{"answer for the publisher", func(c Control) error {
			return c.Answer(&protocol.Answer{ID: "1", Target: protocol.TargetPublisher, SDP: "answer"})
		}},
		{"offer for the subscriber", func(c Control) error {
			return c.Offer(&protocol.Offer{ID: "2", Target: protocol.TargetSubscriber, SDP: "offer"})
		}},
		{"unparsable publisher offer", func(c Control) error {
			return c.Offer(&protocol.Offer{ID: "3", Target: protocol.TargetPublisher, SDP: "bad"})
		}},
		{"unparsable answer", func(c Control) error {
			return c.Answer(&protocol.Answer{ID: "4", Target: protocol.TargetSubscriber, SDP: "bad"})
		}},
	} {
		bob.do(c.name, c.run)
		bob.flush(t)
		errs := bob.sink.TakeRefusals()
		if len(errs) != 1 || errs[0].ID != c.name || !badRequest(errs[0].Err) {
			t.Errorf("%s: refused %+v, want one bad request", c.name, errs)
		}
	}
	if len(bob.peer.Answers) != answers || len(bob.peer.PubAnswered) != 0 {
		t.Fatalf("refused requests reached the connections: answers %v, publisher offers %v",
			bob.peer.Answers[answers:], bob.peer.PubAnswered)
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
	candidate := func(target string, cand *protocol.ICECandidate) {
		ann.do("", func(c Control) error { return c.Candidate(&protocol.Candidate{Target: target, Candidate: cand}) })
	}
	candidate(protocol.TargetSubscriber, cand)
	candidate(protocol.TargetPublisher, nil) // end of candidates
	candidate(protocol.TargetPublisher, cand)
	candidate(protocol.TargetPublisher, cand)
	ann.flush(t)
	if !slices.Equal(ann.peer.Candidates, []peer.Side{peer.Subscriber, peer.Publisher}) {
		t.Fatalf("candidates went to %v", ann.peer.Candidates)
	}
	if e := ann.sink.TakeRefusals(); len(e) != 1 || !errors.Is(e[0].Err, ErrLimit) {
		t.Fatalf("refused %+v, want one over the limit", e)
	}
}

// TestSlowConsumerClosedOnce: a receiver that does not read its reliable data is closed once
// (leave slow_consumer) and counted once, however many messages keep coming; a lossy message
// over its budget is counted as dropped.
func TestSlowConsumerClosedOnce(t *testing.T) {
	r := newTestRoom(t)
	bob := r.join(t, "bob", subscriber)
	bob.peer.Data = peer.DataDropped
	bob.SendData(peer.Lossy, []byte("x"), true)
	bob.peer.Data = peer.DataSlow
	bob.SendData(peer.Reliable, []byte("x"), true)
	bob.SendData(peer.Reliable, []byte("x"), true)
	<-bob.Done()
	d := &r.env.Drops
	if d.DataLossy.Load() != 1 || d.SlowConsumers.Load() != 1 {
		t.Fatalf("drops %d lossy, %d slow consumers; want one of each", d.DataLossy.Load(), d.SlowConsumers.Load())
	}
	leaves := participanttest.MessagesOf[*protocol.Leave](bob.sink.Take())
	if len(leaves) != 1 || leaves[0].Reason != protocol.LeaveSlowConsumer {
		t.Fatalf("leave %+v, want slow_consumer", leaves)
	}
}

// badRequest: what signalling answers with bad_request.
func badRequest(err error) bool {
	return errors.Is(err, ErrBadRequest) || errors.Is(err, ErrWrongState)
}
