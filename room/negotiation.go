package room

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/protocol"
)

// handleOffer applies the client's publisher offer and answers it.
func (p *Participant) handleOffer(m *protocol.Offer) error {
	if m.Target != protocol.TargetPublisher {
		return fmt.Errorf("%w: the server makes the subscriber offers", ErrBadRequest)
	}
	// Counted before pion parses it: each m-section costs a transceiver and its state.
	if n := strings.Count(m.SDP, "\nm="); n > p.room.manager.cfg.Limits.MaxOfferSections {
		return fmt.Errorf("%w: the offer has %d m-sections, at most %d", ErrLimit, n, p.room.manager.cfg.Limits.MaxOfferSections)
	}
	if err := p.pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: m.SDP}); err != nil {
		return fmt.Errorf("%w: invalid offer: %v", ErrBadRequest, err)
	}
	answer, err := p.pub.CreateAnswer(nil)
	if err != nil {
		p.rollbackPublisher()
		return fmt.Errorf("%w: cannot answer the offer: %v", ErrBadRequest, err)
	}
	if err := p.pub.SetLocalDescription(answer); err != nil {
		p.rollbackPublisher()
		return fmt.Errorf("%w: cannot answer the offer: %v", ErrBadRequest, err)
	}
	p.send(&protocol.Answer{ID: m.ID, Target: protocol.TargetPublisher, SDP: answer.SDP})
	p.flushCandidates(protocol.TargetPublisher)
	return nil
}

// rollbackPublisher returns the publisher connection to stable after a failed offer, so that the
// client can try again and nothing else changes.
func (p *Participant) rollbackPublisher() {
	if p.pub.SignalingState() == webrtc.SignalingStateHaveRemoteOffer {
		_ = p.pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeRollback})
	}
}

// handleAnswer applies the client's answer to the pending subscriber offer.
func (p *Participant) handleAnswer(m *protocol.Answer) error {
	if m.Target != protocol.TargetSubscriber {
		return fmt.Errorf("%w: the client makes the publisher offers", ErrBadRequest)
	}
	if !p.offerInFlight {
		return fmt.Errorf("%w: no subscriber offer is waiting for an answer", ErrWrongState)
	}
	if err := p.sub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m.SDP}); err != nil {
		// The offer stays pending: the client can send a valid answer.
		return fmt.Errorf("%w: invalid answer: %v", ErrBadRequest, err)
	}
	p.offerInFlight = false
	p.idle, p.retiredOffered = append(p.idle, p.retiredOffered...), nil
	p.flushCandidates(protocol.TargetSubscriber)
	if p.needOffer {
		p.needOffer = false
		p.negotiate()
	}
	return nil
}

// negotiate sends a subscriber offer now, or after the answer to the one in flight.
func (p *Participant) negotiate() {
	if p.closing {
		return
	}
	if p.offerInFlight {
		p.needOffer = true
		return
	}
	offer, err := p.sub.CreateOffer(nil)
	if err == nil && len(offer.SDP) > protocol.MaxSDPLen {
		// The client could not take it (PROTOCOL.md: one frame of at most 64 KiB). The offer has
		// an m-section of about 0.7 KiB for every track it carries (and for each that went, until
		// the next of its kind takes it): about 43 publishers with a camera and a microphone fit.
		p.logger.Error("subscriber offer not sent: over the protocol's SDP limit",
			"bytes", len(offer.SDP), "limit", protocol.MaxSDPLen, "subscriptions", len(p.subs))
		return
	}
	if err == nil {
		err = p.sub.SetLocalDescription(offer)
	}
	if errors.Is(err, webrtc.ErrConnectionClosed) {
		// The client has gone and its connection with it; its session's end closes the
		// participant. Routine when a room empties: not an error.
		p.logger.Debug("no subscriber offer: the connection is closed")
		return
	}
	if err != nil {
		p.logger.Error("subscriber offer failed", "err", err)
		return
	}
	// Mids exist once the offer is set: announce the tracks this offer adds, then the offer.
	for _, s := range p.subs {
		if !s.announced {
			s.announced = true
			p.send(&protocol.TrackSubscribed{ParticipantSid: s.track.owner.sid, TrackSid: s.track.sid, Mid: s.transceiver.Mid()})
		}
	}
	p.offerInFlight = true
	p.retiredOffered, p.retired = append(p.retiredOffered, p.retired...), nil
	p.send(&protocol.Offer{Target: protocol.TargetSubscriber, SDP: offer.SDP})
}

func (p *Participant) handleCandidate(m *protocol.Candidate) error {
	if m.Candidate == nil || m.Candidate.Candidate == "" {
		return nil // end of candidates: nothing to do for ICE-lite-like trickle on the server
	}
	init := webrtc.ICECandidateInit{Candidate: m.Candidate.Candidate, SDPMid: m.Candidate.SDPMid,
		SDPMLineIndex: m.Candidate.SDPMLineIndex, UsernameFragment: m.Candidate.UsernameFragment}
	pc := p.pc(m.Target)
	if pc.RemoteDescription() == nil {
		if len(p.remoteCands[m.Target]) >= 64 {
			return fmt.Errorf("%w: too many candidates before the description", ErrLimit)
		}
		p.remoteCands[m.Target] = append(p.remoteCands[m.Target], init)
		return nil
	}
	if err := pc.AddICECandidate(init); err != nil {
		return fmt.Errorf("%w: bad candidate: %v", ErrBadRequest, err)
	}
	return nil
}

func (p *Participant) flushCandidates(target string) {
	pc := p.pc(target)
	for _, c := range p.remoteCands[target] {
		if err := pc.AddICECandidate(c); err != nil {
			p.logger.Debug("dropping candidate", "target", target, "err", err)
		}
	}
	delete(p.remoteCands, target)
}

func (p *Participant) pc(target string) *webrtc.PeerConnection {
	if target == protocol.TargetSubscriber {
		return p.sub
	}
	return p.pub
}
