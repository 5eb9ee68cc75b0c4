package client

import (
	"sync"

	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/client/internal/sigconn"
	"github.com/podium-sfu/podium/protocol"
)

// peer is what the publisher and subscriber connections share: trickle ICE in both directions,
// in an order the server can always apply.
type peer struct {
	c      *Client
	sig    *sigconn.Conn // the session's signalling: a late candidate never reaches the next
	target string
	pc     *webrtc.PeerConnection

	mu            sync.Mutex
	remoteSet     bool                      // a remote description has been applied
	pendingRemote []webrtc.ICECandidateInit // candidates that came before it
	localSent     bool                      // a local description has been sent
	heldLocal     []*protocol.ICECandidate  // candidates gathered before that (nil = end)
}

// newPeer creates the connection; onConnected (may be nil) runs each time it connects.
func newPeer(c *Client, sig *sigconn.Conn, api *webrtc.API, cfg webrtc.Configuration, target string, onConnected func()) (*peer, error) {
	pc, err := api.NewPeerConnection(cfg)
	if err != nil {
		return nil, err
	}
	p := &peer{c: c, sig: sig, target: target, pc: pc}
	pc.OnICECandidate(p.onLocalCandidate)
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		c.log.Debug("peer connection state", "target", target, "state", s.String())
		if s == webrtc.PeerConnectionStateConnected && onConnected != nil {
			onConnected()
		}
		c.iceStateChanged(s)
	})
	return p, nil
}

// onLocalCandidate trickles a gathered candidate, holding it until the description it belongs
// to has been sent: the server cannot apply a candidate before it.
func (p *peer) onLocalCandidate(cand *webrtc.ICECandidate) {
	var wire *protocol.ICECandidate
	if cand != nil {
		init := cand.ToJSON()
		wire = &protocol.ICECandidate{
			Candidate: init.Candidate, SDPMid: init.SDPMid, SDPMLineIndex: init.SDPMLineIndex,
			UsernameFragment: init.UsernameFragment,
		}
	}
	p.mu.Lock()
	if !p.localSent {
		p.heldLocal = append(p.heldLocal, wire)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	_ = p.sig.Send(&protocol.Candidate{Target: p.target, Candidate: wire})
}

// sendDescription sends an offer or answer, then the candidates held back for it.
func (p *peer) sendDescription(m protocol.Message) error {
	if err := p.sig.Send(m); err != nil {
		return err
	}
	p.mu.Lock()
	p.localSent = true
	held := p.heldLocal
	p.heldLocal = nil
	p.mu.Unlock()
	for _, cand := range held {
		_ = p.sig.Send(&protocol.Candidate{Target: p.target, Candidate: cand})
	}
	return nil
}

// restarting holds the candidates of an ICE restart in both directions until its offer and
// answer have gone: the local ones until the description is sent (the server would add them to
// the ICE session being replaced), and, when remote is set, the server's until its answer is
// applied.
func (p *peer) restarting(remote bool) {
	p.mu.Lock()
	p.localSent = false
	if remote {
		p.remoteSet = false
	}
	p.mu.Unlock()
}

// addRemoteCandidate applies a trickled candidate, or keeps it until the remote description.
func (p *peer) addRemoteCandidate(cand *protocol.ICECandidate) {
	init := webrtc.ICECandidateInit{} // empty: end of candidates
	if cand != nil {
		init = webrtc.ICECandidateInit{
			Candidate: cand.Candidate, SDPMid: cand.SDPMid, SDPMLineIndex: cand.SDPMLineIndex,
			UsernameFragment: cand.UsernameFragment,
		}
	}
	p.mu.Lock()
	if !p.remoteSet {
		p.pendingRemote = append(p.pendingRemote, init)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	p.applyCandidate(init)
}

func (p *peer) applyCandidate(init webrtc.ICECandidateInit) {
	if err := p.pc.AddICECandidate(init); err != nil {
		p.c.log.Warn("remote candidate rejected", "target", p.target, "err", err)
	}
}

// setRemote applies a remote description, then the candidates that arrived before it.
func (p *peer) setRemote(desc webrtc.SessionDescription) error {
	if err := p.pc.SetRemoteDescription(desc); err != nil {
		return err
	}
	p.mu.Lock()
	p.remoteSet = true
	pending := p.pendingRemote
	p.pendingRemote = nil
	p.mu.Unlock()
	for _, init := range pending {
		p.applyCandidate(init)
	}
	return nil
}
