package participant

import "github.com/podium-sfu/podium/protocol"

// Request is one client request for a participant's control queue. Signalling turns each
// message into one; what the participant does is the Control method its Run calls.
type Request struct {
	// Run does the work, on the control queue; an error is the request's refusal.
	Run func(Control) error
	// Failed hears a refusal: Run's error, ErrTooManyRequests (at once, on the caller's
	// goroutine) or ErrSuperseded. It must not block. Nothing is heard of a request that
	// succeeds, or that was dropped because the participant is leaving.
	Failed func(error)
	// PublisherOffer marks a request that applies a publisher offer: a newer one supersedes it
	// while it waits, and only the newest runs.
	PublisherOffer bool
}

// Submit queues a client request, in order, on the control queue. At most
// Limits.PendingRequests wait there; past that it is refused (ErrTooManyRequests).
func (p *Participant) Submit(req Request) {
	if int(p.requests.Add(1)) > p.env.Limits.PendingRequests {
		p.requests.Add(-1)
		p.env.Drops.Requests.Add(1)
		req.fail(ErrTooManyRequests)
		return
	}
	r := &req
	if r.PublisherOffer {
		p.supersedeOffer(r)
	}
	if !p.q.Push(func() {
		p.requests.Add(-1)
		if p.closing || !p.isNewestOffer(r) {
			return
		}
		if err := r.Run(Control{p}); err != nil {
			r.fail(err)
		}
	}) {
		p.requests.Add(-1)
	}
}

func (r *Request) fail(err error) {
	if r.Failed != nil {
		r.Failed(err)
	}
}

// supersedeOffer makes r the offer to apply; the one it replaces, still waiting, is refused
// (ErrSuperseded) and skipped when its turn comes.
func (p *Participant) supersedeOffer(r *Request) {
	p.offerMu.Lock()
	old := p.newestOffer
	p.newestOffer = r
	p.offerMu.Unlock()
	if old != nil {
		old.fail(ErrSuperseded)
	}
}

// isNewestOffer reports whether r may run: anything but a publisher offer, or the newest one
// (which is then no longer waiting).
func (p *Participant) isNewestOffer(r *Request) bool {
	if !r.PublisherOffer {
		return true
	}
	p.offerMu.Lock()
	defer p.offerMu.Unlock()
	if p.newestOffer != r {
		return false
	}
	p.newestOffer = nil
	return true
}

// Control is what a client may ask of its participant. A Request's Run gets it on the
// control queue; it is valid only there.
type Control struct{ p *Participant }

// Offer applies a publisher offer and sends the answer.
func (c Control) Offer(m *protocol.Offer) error { return c.p.handleOffer(m) }

// Answer applies the answer to the subscriber offer in flight.
func (c Control) Answer(m *protocol.Answer) error { return c.p.handleAnswer(m) }

// Candidate adds a client's ICE candidate to the connection it names.
func (c Control) Candidate(m *protocol.Candidate) error { return c.p.handleCandidate(m) }

// Publish announces a track the client is about to send.
func (c Control) Publish(m *protocol.Publish) error { return c.p.handlePublish(m) }

// Unpublish ends one of the client's tracks.
func (c Control) Unpublish(m *protocol.Unpublish) error { return c.p.handleUnpublish(m) }

// Mute mutes or unmutes one of the client's tracks.
func (c Control) Mute(m *protocol.Mute) error { return c.p.handleMute(m) }

// Subscribe turns tracks of others on or off for the client.
func (c Control) Subscribe(m *protocol.Subscribe) error { return c.p.handleSubscribe(m) }

// TrackSettings records how the client shows a track (size, pinned, on).
func (c Control) TrackSettings(m *protocol.TrackSettings) error { return c.p.handleTrackSettings(m) }

// UpdateMetadata changes the client's name or metadata.
func (c Control) UpdateMetadata(m *protocol.UpdateMetadata) error {
	return c.p.handleUpdateMetadata(m)
}

// Leave closes the participant at the client's request.
func (c Control) Leave() { c.p.RequestClose(protocol.LeaveClient) }
