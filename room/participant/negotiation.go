package participant

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room/peer"
)

// handleOffer applies the client's publisher offer and answers it.
func (p *Participant) handleOffer(m *protocol.Offer) error {
	if m.Target != protocol.TargetPublisher {
		return fmt.Errorf("%w: the server makes the subscriber offers", ErrBadRequest)
	}
	// Counted before pion parses it: each m-section costs a transceiver and its state.
	if n := strings.Count(m.SDP, "\nm="); n > p.env.Limits.MaxOfferSections {
		return fmt.Errorf("%w: the offer has %d m-sections, at most %d", ErrLimit, n, p.env.Limits.MaxOfferSections)
	}
	answer, err := p.peer.AnswerPublisher(m.SDP)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	p.Send(&protocol.Answer{ID: m.ID, Target: protocol.TargetPublisher, SDP: answer})
	return nil
}

// handleAnswer applies the client's answer to the pending subscriber offer.
func (p *Participant) handleAnswer(m *protocol.Answer) error {
	if m.Target != protocol.TargetSubscriber {
		return fmt.Errorf("%w: the client makes the publisher offers", ErrBadRequest)
	}
	if !p.offerInFlight {
		return fmt.Errorf("%w: no subscriber offer is waiting for an answer", ErrWrongState)
	}
	if err := p.peer.ApplyAnswer(m.SDP); err != nil {
		// The offer stays pending: the client can send a valid answer.
		return fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	p.offerInFlight = false
	if p.needOffer {
		p.needOffer = false
		p.negotiate()
	}
	return nil
}

// negotiate sends a subscriber offer now, or after the answer to the one in flight: one offer
// at a time, and the server never offers while the client's answer may cross it (no glare).
func (p *Participant) negotiate() {
	if p.closing || p.httpSession() != nil { // over HTTP: the one exchange is the client's offer
		return
	}
	if p.offerInFlight {
		p.needOffer = true
		return
	}
	sdp, err := p.peer.OfferSubscriber()
	switch {
	case errors.Is(err, peer.ErrOfferTooLarge):
		// The client could not take it (PROTOCOL.md: one frame of at most 64 KiB). The offer has
		// an m-section of about 0.7 KiB for every track it carries (and for each that went, until
		// the next of its kind takes it): about 43 publishers with a camera and a microphone fit.
		p.logger.Error("subscriber offer not sent: over the protocol's SDP limit",
			"err", err, "subscriptions", p.down.Len())
		return
	case errors.Is(err, peer.ErrClosed):
		// The client has gone and its connection with it; its session's end closes the
		// participant. Routine when a room empties: not an error.
		p.logger.Debug("no subscriber offer: the connection is closed")
		return
	case err != nil:
		p.logger.Error("subscriber offer failed", "err", err)
		return
	}
	// Mids exist once the offer is set: announce the tracks this offer adds, then the offer.
	p.down.Announce()
	p.offerInFlight = true
	p.Send(&protocol.Offer{Target: protocol.TargetSubscriber, SDP: sdp})
}

func (p *Participant) handleCandidate(m *protocol.Candidate) error {
	if m.Candidate == nil || m.Candidate.Candidate == "" {
		return nil // end of candidates: nothing to do for ICE-lite-like trickle on the server
	}
	init := webrtc.ICECandidateInit{Candidate: m.Candidate.Candidate, SDPMid: m.Candidate.SDPMid,
		SDPMLineIndex: m.Candidate.SDPMLineIndex, UsernameFragment: m.Candidate.UsernameFragment}
	side := peer.Publisher
	if m.Target == protocol.TargetSubscriber {
		side = peer.Subscriber
	}
	err := p.peer.AddCandidate(side, init)
	switch {
	case errors.Is(err, peer.ErrTooManyCandidates):
		return fmt.Errorf("%w: %v", ErrLimit, err)
	case err != nil:
		return fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	return nil
}
