package client

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/client/internal/sigconn"
	"github.com/podium-sfu/podium/protocol"
)

// publisher is the connection the client offers on. Publishing, unpublishing and the first
// data-channel offer each take sem, so one offer/answer exchange runs at a time and the server
// sees `publish` → `published` → `offer` → `answer` for one track before the next.
type publisher struct {
	*peer

	sem        chan struct{}
	negotiated bool // guarded by sem
	reliable   *dataChannel
	lossy      *dataChannel

	mu       sync.Mutex
	answerCh chan protocol.Message  // the waiting negotiation's: for an answer without an id
	tracks   map[string]*LocalTrack // by track sid
	moving   []*LocalTrack          // a lost session's tracks, until published here (rejoin.go)
	closed   bool                   // no more tracks may start
}

func newPublisher(c *Client, sig *sigconn.Conn, api *webrtc.API, cfg webrtc.Configuration) (*publisher, error) {
	p := &publisher{sem: make(chan struct{}, 1), tracks: map[string]*LocalTrack{}}
	var err error
	if p.peer, err = newPeer(c, sig, api, cfg, protocol.TargetPublisher, p.onConnected); err != nil {
		return nil, err
	}
	ordered, unordered, none := true, false, uint16(0)
	if p.reliable, err = newDataChannel(p.pc, LabelReliable, &webrtc.DataChannelInit{Ordered: &ordered}); err == nil {
		p.lossy, err = newDataChannel(p.pc, LabelLossy, &webrtc.DataChannelInit{Ordered: &unordered, MaxRetransmits: &none})
	}
	if err != nil {
		_ = p.pc.Close()
		return nil, err
	}
	return p, nil
}

func (p *publisher) lock(ctx context.Context) error {
	select {
	case p.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-p.c.done:
		return ErrClosed
	}
}

func (p *publisher) unlock() { <-p.sem }

// negotiateLocked runs one offer/answer exchange, restarting ICE when restart is set; the caller
// holds sem.
func (p *publisher) negotiateLocked(ctx context.Context, restart bool) error {
	var opts *webrtc.OfferOptions
	if restart {
		p.Restarting(true)
		opts = &webrtc.OfferOptions{ICERestart: true}
	}
	offer, err := p.pc.CreateOffer(opts)
	if err != nil {
		return fmt.Errorf("client: publisher offer: %w", err)
	}
	if err := p.pc.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("client: publisher offer: %w", err)
	}
	id := p.sig.NewID()
	ch := p.sig.Expect(id)
	defer p.sig.Unexpect(id)
	p.mu.Lock()
	p.answerCh = ch
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.answerCh = nil
		p.mu.Unlock()
	}()
	if err := p.SendDescription(&protocol.Offer{ID: id, Target: protocol.TargetPublisher, SDP: offer.SDP}); err != nil {
		return err
	}
	reply, err := p.sig.Await(ctx, ch)
	if err == nil {
		answer, ok := reply.(*protocol.Answer)
		if !ok {
			err = fmt.Errorf("%w: %s in reply to the publisher offer", ErrUnexpected, reply.MessageType())
		} else {
			err = p.SetRemote(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer.SDP})
		}
	}
	if err != nil {
		// Back to stable, so that the next negotiation can start afresh.
		_ = p.pc.SetLocalDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeRollback})
		return fmt.Errorf("client: publisher negotiation: %w", err)
	}
	p.negotiated = true
	return nil
}

// deliverAnswer hands an answer without a known id to the negotiation waiting for one.
func (p *publisher) deliverAnswer(m *protocol.Answer) {
	p.mu.Lock()
	ch := p.answerCh
	p.answerCh = nil
	p.mu.Unlock()
	if ch == nil {
		p.c.log.Warn("publisher answer without an offer ignored")
		return
	}
	select {
	case ch <- m:
	default:
	}
}

// openChannel returns a data channel once open, negotiating first if nothing has been.
func (p *publisher) openChannel(ctx context.Context, reliable bool) (*dataChannel, error) {
	d := p.lossy
	if reliable {
		d = p.reliable
	}
	select {
	case <-d.open:
		return d, nil
	default:
	}
	if err := p.lock(ctx); err != nil {
		return nil, err
	}
	var err error
	if !p.negotiated {
		err = p.negotiateLocked(ctx, false)
	}
	p.unlock()
	if err != nil {
		return nil, err
	}
	select {
	case <-d.open:
		return d, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-p.c.done:
		return nil, ErrClosed
	}
}

// publish announces a track, adds it once the server has accepted it, and negotiates.
func (p *publisher) publish(ctx context.Context, req protocol.Publish, lt *LocalTrack) error {
	if err := p.lock(ctx); err != nil {
		return err
	}
	defer p.unlock()
	req.ID = p.sig.NewID()
	keys := []string{req.ID, "cid:" + req.CID}
	ch := p.sig.Expect(keys...)
	defer p.sig.Unexpect(keys...)
	if err := p.sig.Send(&req); err != nil {
		return err
	}
	reply, err := p.sig.Await(ctx, ch)
	if err != nil {
		return fmt.Errorf("client: publish: %w", err)
	}
	published, ok := reply.(*protocol.Published)
	if !ok {
		return fmt.Errorf("%w: %s in reply to publish", ErrUnexpected, reply.MessageType())
	}
	lt.setInfo(published.Track)
	if err := lt.send.Attach(p.pc); err != nil {
		_ = p.sig.Send(&protocol.Unpublish{TrackSid: published.Track.Sid})
		return err
	}
	if err := p.negotiateLocked(ctx, false); err != nil {
		_ = lt.send.Detach(p.pc)
		_ = p.sig.Send(&protocol.Unpublish{TrackSid: published.Track.Sid})
		return err
	}
	return p.register(lt)
}

// register records a negotiated track and starts it, unless the connection has closed: then
// close would not wait for the track's goroutines.
func (p *publisher) register(lt *LocalTrack) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	p.tracks[lt.Sid()] = lt
	p.moving = slices.DeleteFunc(p.moving, func(m *LocalTrack) bool { return m == lt })
	lt.send.Start(p.c.log.With("track", lt.Sid()))
	return nil
}

// republish publishes a lost session's track again on this connection, as it was published
// first; its players have kept running and start again at a keyframe once bound here.
func (p *publisher) republish(ctx context.Context, lt *LocalTrack) error {
	if err := p.publish(ctx, lt.req, lt); err != nil {
		return err
	}
	if lt.send.Muted() {
		_ = p.sig.Send(&protocol.Mute{ID: p.sig.NewID(), TrackSid: lt.Sid(), Muted: true})
	}
	return nil
}

// dropMoving forgets a track that could not be published again.
func (p *publisher) dropMoving(lt *LocalTrack) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.moving = slices.DeleteFunc(p.moving, func(m *LocalTrack) bool { return m == lt })
}

// unpublish removes a track's sender and renegotiates.
func (p *publisher) unpublish(ctx context.Context, lt *LocalTrack) error {
	if err := p.lock(ctx); err != nil {
		lt.send.Cancel() // its RTCP readers end when the connection closes
		return err
	}
	defer p.unlock()
	err := lt.send.Detach(p.pc)
	p.mu.Lock()
	delete(p.tracks, lt.Sid())
	p.mu.Unlock()
	lt.stop()
	if err != nil {
		return fmt.Errorf("client: unpublish: %w", err)
	}
	return p.negotiateLocked(ctx, false)
}

func (p *publisher) track(sid string) *LocalTrack {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tracks[sid]
}

func (p *publisher) allTracks() []*LocalTrack {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*LocalTrack, 0, len(p.tracks))
	for _, lt := range p.tracks {
		out = append(out, lt)
	}
	return out
}

// onConnected restarts every file at a keyframe: what was sent before DTLS completed was lost.
func (p *publisher) onConnected() {
	for _, lt := range p.allTracks() {
		lt.send.Restart()
	}
}

// setLayers applies dynacast: layers nobody needs stop sending until needed again.
func (p *publisher) setLayers(m *protocol.SubscribedLayers) {
	if lt := p.track(m.TrackSid); lt != nil {
		active := make(map[string]bool, len(m.Layers))
		for _, l := range m.Layers {
			active[l.RID] = l.Active
		}
		lt.send.SetLayers(active)
	}
}

// close closes the connection and waits for the goroutines of every published track, or,
// with keep, leaves them playing and returns them (and those still moving here) for the next
// session.
func (p *publisher) close(keep bool) []*LocalTrack {
	p.mu.Lock()
	p.closed = true
	moving := p.moving
	p.moving = nil
	p.mu.Unlock()
	if err := p.pc.Close(); err != nil {
		p.c.log.Debug("closing the publisher connection", "err", err)
	}
	tracks := append(p.allTracks(), moving...)
	if keep {
		return tracks
	}
	for _, lt := range tracks {
		lt.stop()
	}
	return nil
}
