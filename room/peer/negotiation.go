package peer

import (
	"errors"
	"fmt"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// Errors of negotiation, for the caller to map to its own.
var (
	ErrOfferTooLarge     = errors.New("subscriber offer over the client's SDP limit")
	ErrTooManyCandidates = errors.New("too many candidates before the description")
	ErrBadCandidate      = errors.New("bad candidate")
)

// maxEarlyCandidates bounds the candidates held for a connection without a remote description.
const maxEarlyCandidates = 64

// AnswerPublisher applies the client's publisher offer and returns the answer. When it fails the
// publisher connection is back where it was, so that the client can try again.
func (p *Peer) AnswerPublisher(sdp string) (string, error) {
	if err := p.pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
		return "", fmt.Errorf("invalid offer: %v", err)
	}
	if p.pubTransport != nil {
		p.pubTransport.SetTransportCC(transportCCID(p.pub))
	}
	answer, err := p.pub.CreateAnswer(nil)
	if err == nil {
		err = p.pub.SetLocalDescription(answer)
	}
	if err != nil {
		if p.pub.SignalingState() == webrtc.SignalingStateHaveRemoteOffer {
			_ = p.pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeRollback})
		}
		return "", fmt.Errorf("cannot answer the offer: %v", err)
	}
	p.flushCandidates(Publisher)
	return p.publisherAnswer(answer.SDP), nil
}

// publisherAnswer is the answer as the client gets it: with the start bitrate its browser's
// send estimate should start from (PublisherStartBitrate), but not between nodes.
func (p *Peer) publisherAnswer(sdp string) string {
	if p.cfg.Relay {
		return sdp
	}
	return withStartBitrate(sdp, PublisherStartBitrate)
}

// RestartICE makes the next subscriber offer (OfferSubscriber) restart ICE: new credentials and
// candidates, so that the client's new network address can pair. The publisher connection
// restarts when the client offers so. DTLS and SRTP carry on over the new pair: the route of a
// connection Podium owns follows the selected pair (fastpath.Transport.SelectPair).
func (p *Peer) RestartICE() { p.restartICE = true }

// OfferSubscriber makes the next subscriber offer and sets it. The mids of the tracks it adds
// exist once it returns (Mid). It fails with ErrOfferTooLarge (nothing set) and ErrClosed.
func (p *Peer) OfferSubscriber() (string, error) {
	var opts *webrtc.OfferOptions
	if p.restartICE {
		opts = &webrtc.OfferOptions{ICERestart: true}
	}
	offer, err := p.sub.CreateOffer(opts)
	if err == nil && len(offer.SDP) > p.cfg.MaxOfferSDP {
		return "", fmt.Errorf("%w: %d bytes, at most %d", ErrOfferTooLarge, len(offer.SDP), p.cfg.MaxOfferSDP)
	}
	if err == nil {
		err = p.sub.SetLocalDescription(offer)
	}
	if err != nil {
		return "", err
	}
	p.restartICE = false
	p.offered()
	return offer.SDP, nil
}

// ApplyAnswer applies the client's answer to the subscriber offer. When it fails the offer is
// still pending: the client can send a valid answer.
func (p *Peer) ApplyAnswer(sdp string) error {
	if err := p.sub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp}); err != nil {
		return fmt.Errorf("invalid answer: %v", err)
	}
	p.answered()
	p.flushCandidates(Subscriber)
	return nil
}

// AddCandidate adds one of the client's ICE candidates, or holds it until its connection has a
// remote description (ErrTooManyCandidates past 64 of them).
func (p *Peer) AddCandidate(side Side, c webrtc.ICECandidateInit) error {
	pc := p.pc(side)
	if pc.RemoteDescription() == nil {
		if len(p.remoteCands[side]) >= maxEarlyCandidates {
			return ErrTooManyCandidates
		}
		p.remoteCands[side] = append(p.remoteCands[side], c)
		return nil
	}
	if err := pc.AddICECandidate(c); err != nil {
		return fmt.Errorf("%w: %v", ErrBadCandidate, err)
	}
	return nil
}

func (p *Peer) flushCandidates(side Side) {
	pc := p.pc(side)
	for _, c := range p.remoteCands[side] {
		if err := pc.AddICECandidate(c); err != nil {
			p.logger.Debug("dropping candidate", "target", side.String(), "err", err)
		}
	}
	p.remoteCands[side] = nil
}

// transportCCID is the transport-wide sequence extension id a connection negotiated (0: none).
// The m-sections of a bundle share it.
func transportCCID(pc *webrtc.PeerConnection) uint8 {
	for _, tr := range pc.GetTransceivers() {
		if r := tr.Receiver(); r != nil {
			for _, h := range r.GetParameters().HeaderExtensions {
				if h.URI == sdp.TransportCCURI {
					return uint8(h.ID)
				}
			}
		}
	}
	return 0
}
