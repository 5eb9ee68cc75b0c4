package participant

import (
	"fmt"
	"slices"

	"github.com/podium-sfu/podium/protocol"
)

// onQueue runs f on p's control queue and returns its error; ErrNotFound once p has left.
func (p *Participant) onQueue(f func() error) error {
	errc := make(chan error, 1)
	if !p.q.Push(func() {
		if p.closing {
			errc <- ErrNotFound
			return
		}
		errc <- f()
	}) {
		return ErrNotFound
	}
	return <-errc
}

// InfoWithPermissions is Info with the participant's permissions, as its admins see it.
func (p *Participant) InfoWithPermissions() protocol.ParticipantInfo {
	info := p.Info()
	perms := p.permissions()
	info.Permissions = &perms
	return info
}

// permissions is a copy of what the participant may do, safe from any goroutine.
func (p *Participant) permissions() protocol.Permissions {
	p.mu.Lock()
	defer p.mu.Unlock()
	perms := p.perms
	perms.CanPublishSources = slices.Clone(perms.CanPublishSources)
	return perms
}

// UpdateInfo changes the participant's name or metadata (nil: unchanged), with the limits and
// the rule against taking another participant's name that bind the participant itself.
func (p *Participant) UpdateInfo(name, metadata *string) error {
	m := &protocol.UpdateMetadata{Name: name, Metadata: metadata}
	if err := protocol.Validate(m); err != nil {
		return fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	return p.onQueue(func() error { return p.handleUpdateMetadata(m) })
}

// SetPermissions replaces what the participant may do, live: tracks it may no longer publish
// are unpublished, and without canSubscribe its subscriptions end. Hidden and roomAdmin come
// from the token and cannot change while the participant is in the room.
func (p *Participant) SetPermissions(perms protocol.Permissions) error {
	for _, s := range perms.CanPublishSources {
		if !protocol.ValidSource(s) {
			return fmt.Errorf("%w: unknown source %q", ErrBadRequest, s)
		}
	}
	return p.onQueue(func() error {
		if perms.Hidden != p.perms.Hidden || perms.RoomAdmin != p.perms.RoomAdmin {
			return fmt.Errorf("%w: hidden and roomAdmin come from the token and cannot change", ErrBadRequest)
		}
		p.mu.Lock()
		p.perms.CanPublish, p.perms.CanSubscribe = perms.CanPublish, perms.CanSubscribe
		p.perms.CanPublishData = perms.CanPublishData
		p.perms.CanPublishSources = slices.Clone(perms.CanPublishSources)
		var revoked []string
		for _, t := range append(slices.Clone(p.tracks), p.pendingTracks()...) {
			if !p.mayPublishLocked(t.info.Source) {
				revoked = append(revoked, t.sid)
			}
		}
		p.mu.Unlock()
		for _, sid := range revoked {
			if err := p.handleUnpublish(&protocol.Unpublish{TrackSid: sid}); err != nil {
				p.logger.Warn("unpublishing a revoked track", "track", sid, "err", err)
			}
		}
		p.logger.Info("permissions changed", "publish", perms.CanPublish, "subscribe", perms.CanSubscribe,
			"data", perms.CanPublishData, "unpublished", len(revoked))
		p.reconcile() // without canSubscribe, wantedTracks is empty: every subscription ends
		p.announceUpdate()
		return nil
	})
}

// mayPublishLocked reports whether the permissions allow a track of this source; p.mu held.
func (p *Participant) mayPublishLocked(source string) bool {
	return p.perms.CanPublish && (len(p.perms.CanPublishSources) == 0 || slices.Contains(p.perms.CanPublishSources, source))
}

func (p *Participant) pendingTracks() []*PublishedTrack {
	out := make([]*PublishedTrack, 0, len(p.pending))
	for _, t := range p.pending {
		out = append(out, t)
	}
	return out
}

// SetSubscriptions subscribes the participant to tracks of the room, or unsubscribes it, as
// its own subscribe request would.
func (p *Participant) SetSubscriptions(trackSids []string, subscribe bool) error {
	m := &protocol.Subscribe{TrackSids: trackSids, Subscribe: subscribe}
	if err := protocol.Validate(m); err != nil {
		return fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	return p.onQueue(func() error { return p.handleSubscribe(m) })
}
