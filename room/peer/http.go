package peer

import (
	"context"
	"fmt"

	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/sfu"
)

// A session negotiated over HTTP (WHIP, WHEP) makes one exchange: the client offers, the server
// answers with every candidate in the answer, and nothing is renegotiated. For WHEP the client
// offers the subscriber connection too, so its m-sections are the client's: a down track is
// bound to one of them by mid before the offer is applied.

// AddTrackAt is AddTrack on the client's m-section mid, for an offer the client makes (WHEP).
// Call it before AnswerSubscriber.
func (p *Peer) AddTrackAt(dt *sfu.DownTrack, mid string) error {
	if err := p.AddTrack(dt); err != nil {
		return err
	}
	// The offer's m-section with this mid takes this transceiver rather than one pion makes.
	return p.tracks[dt].transceiver.SetMid(mid)
}

// AnswerSubscriber applies the client's offer to the subscriber connection and returns the
// answer, which carries the tracks bound with AddTrackAt.
func (p *Peer) AnswerSubscriber(sdp string) (string, error) {
	if err := p.sub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
		return "", fmt.Errorf("invalid offer: %v", err)
	}
	answer, err := p.sub.CreateAnswer(nil)
	if err == nil {
		err = p.sub.SetLocalDescription(answer)
	}
	if err != nil {
		return "", fmt.Errorf("cannot answer the offer: %v", err)
	}
	p.flushCandidates(Subscriber)
	return answer.SDP, nil
}

// GatheredAnswer waits until side has gathered its candidates and returns its local
// description with all of them: the answer of a client that does not trickle. Safe from any
// goroutine once the answer is set.
func (p *Peer) GatheredAnswer(ctx context.Context, side Side) (string, error) {
	pc := p.pc(side)
	done := webrtc.GatheringCompletePromise(pc)
	select {
	case <-done:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	d := pc.LocalDescription()
	if d == nil {
		return "", ErrClosed
	}
	if side == Publisher {
		return p.publisherAnswer(d.SDP), nil
	}
	return d.SDP, nil
}
