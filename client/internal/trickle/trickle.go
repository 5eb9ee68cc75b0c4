// Package trickle exchanges one peer connection's ICE candidates with the server (trickle ICE,
// docs/protocol.md) in an order both sides can always apply: a local candidate goes out only
// after the description it belongs to, and a remote one is applied only after the remote
// description. An ICE restart holds both directions again until its offer and answer are done.
package trickle

import (
	"log/slog"
	"sync"

	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/protocol"
)

// Peer is the candidate exchange of one connection.
type Peer struct {
	pc     *webrtc.PeerConnection
	target string // protocol.TargetPublisher or TargetSubscriber
	send   func(protocol.Message) error
	log    *slog.Logger

	mu            sync.Mutex
	remoteSet     bool                      // a remote description has been applied
	pendingRemote []webrtc.ICECandidateInit // candidates that came before it
	localSent     bool                      // a local description has been sent
	heldLocal     []*protocol.ICECandidate  // candidates gathered before that (nil = end)
}

// New trickles pc's candidates through send as `candidate` messages for target.
func New(pc *webrtc.PeerConnection, target string, send func(protocol.Message) error, log *slog.Logger) *Peer {
	p := &Peer{pc: pc, target: target, send: send, log: log}
	pc.OnICECandidate(p.onLocalCandidate)
	return p
}

// onLocalCandidate trickles a gathered candidate, holding it until the description it belongs
// to has been sent: the server cannot apply a candidate before it.
func (p *Peer) onLocalCandidate(cand *webrtc.ICECandidate) {
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
	_ = p.send(&protocol.Candidate{Target: p.target, Candidate: wire})
}

// SendDescription sends an offer or answer, then the candidates held back for it.
func (p *Peer) SendDescription(m protocol.Message) error {
	if err := p.send(m); err != nil {
		return err
	}
	p.mu.Lock()
	p.localSent = true
	held := p.heldLocal
	p.heldLocal = nil
	p.mu.Unlock()
	for _, cand := range held {
		_ = p.send(&protocol.Candidate{Target: p.target, Candidate: cand})
	}
	return nil
}

// Restarting holds the candidates of an ICE restart in both directions until its offer and
// answer have gone: the local ones until the description is sent (the server would add them to
// the ICE session being replaced), and, when remote is set, the server's until its answer is
// applied.
func (p *Peer) Restarting(remote bool) {
	p.mu.Lock()
	p.localSent = false
	if remote {
		p.remoteSet = false
	}
	p.mu.Unlock()
}

// AddRemoteCandidate applies a trickled candidate (nil: the end of them), or keeps it until
// the remote description.
func (p *Peer) AddRemoteCandidate(cand *protocol.ICECandidate) {
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
	p.apply(init)
}

func (p *Peer) apply(init webrtc.ICECandidateInit) {
	if err := p.pc.AddICECandidate(init); err != nil {
		p.log.Warn("remote candidate rejected", "target", p.target, "err", err)
	}
}

// SetRemote applies a remote description, then the candidates that arrived before it.
func (p *Peer) SetRemote(desc webrtc.SessionDescription) error {
	if err := p.pc.SetRemoteDescription(desc); err != nil {
		return err
	}
	p.mu.Lock()
	p.remoteSet = true
	pending := p.pendingRemote
	p.pendingRemote = nil
	p.mu.Unlock()
	for _, init := range pending {
		p.apply(init)
	}
	return nil
}
