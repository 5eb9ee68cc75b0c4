package participant

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room/alloc"
)

// handlePublish reserves a track sid for a track the next publisher offer will carry.
func (p *Participant) handlePublish(m *protocol.Publish) error {
	if !p.perms.CanPublish {
		return fmt.Errorf("%w: this token may not publish", ErrForbidden)
	}
	if len(p.perms.CanPublishSources) > 0 && !slices.Contains(p.perms.CanPublishSources, m.Source) {
		return fmt.Errorf("%w: this token may not publish source %q", ErrForbidden, m.Source)
	}
	p.mu.Lock()
	count := len(p.tracks)
	dup := false
	for _, t := range p.tracks {
		dup = dup || t.cid == m.CID
	}
	p.mu.Unlock()
	if _, ok := p.pending[m.CID]; ok || dup {
		return fmt.Errorf("%w: track %q is already published", ErrConflict, m.CID)
	}
	if max := p.env.MaxTracks; count+len(p.pending) >= max {
		return fmt.Errorf("%w: at most %d tracks per participant", ErrLimit, max)
	}
	t := &PublishedTrack{sid: protocol.NewSid("TR_"), cid: m.CID, owner: p, info: protocol.TrackInfo{
		Kind: m.Kind, Source: m.Source, Width: m.Width, Height: m.Height, Layers: m.Layers,
	}}
	t.info.Sid = t.sid
	p.pending[m.CID] = t
	p.Send(&protocol.Published{ID: m.ID, CID: m.CID, Track: t.info})
	return nil
}

// onTrack matches media arriving on the publisher connection with an announced track. A
// simulcast track fires once per layer: the first layer makes the receiver, the others join it.
func (p *Participant) onTrack(remote *webrtc.TrackRemote, rr *webrtc.RTPReceiver) {
	if p.closing {
		return
	}
	// The layers of one RTP receiver are one track, whatever their msid says: Firefox's msid
	// track id is not the MediaStreamTrack id that publish announced.
	if t := p.trackOfReceiver(rr); t != nil {
		p.addLayer(t, remote)
		return
	}
	kind := protocol.KindAudio
	if remote.Kind() == webrtc.RTPCodecTypeVideo {
		kind = protocol.KindVideo
	}
	t := p.pending[remote.ID()]
	if t == nil || t.info.Kind != kind {
		// Some stacks rewrite msid: accept the only announced track of this kind.
		t = nil
		for _, c := range p.pending {
			if c.info.Kind == kind {
				if t != nil {
					t = nil
					break
				}
				t = c
			}
		}
	}
	if t == nil {
		p.logger.Warn("media for a track that was not announced with publish", "cid", remote.ID(), "kind", kind, "rid", remote.RID())
		return
	}
	delete(p.pending, t.cid)
	r := p.peer.NewReceiver(remote, rr, p.logger.With("track", t.sid))
	p.mu.Lock()
	t.receiver, t.rtpReceiver = r, rr
	t.info.MimeType = remote.Codec().MimeType
	p.tracks = append(p.tracks, t)
	info := t.info
	p.mu.Unlock()
	r.SetMuted(info.Muted) // muted before its media came
	p.addLayer(t, remote)
	p.logger.Info("track published", "track", t.sid, "kind", kind, "codec", info.MimeType, "rid", remote.RID())
	p.room.TrackChanged(p, &protocol.TrackPublished{ParticipantSid: p.sid, Track: info})
	p.Emit(EventTrackPublished, &info, "")
}

// trackOfReceiver finds the published track whose media arrives on rr.
func (p *Participant) trackOfReceiver(rr *webrtc.RTPReceiver) *PublishedTrack {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, t := range p.tracks {
		if t.rtpReceiver == rr {
			return t
		}
	}
	return nil
}

// addLayer starts reading one stream of a track (a simulcast layer or the only stream).
func (p *Participant) addLayer(t *PublishedTrack, remote *webrtc.TrackRemote) {
	idx := alloc.LayerIndex(remote.RID(), t.info.Layers)
	if idx < 0 {
		p.logger.Warn("ignoring a simulcast layer with an unknown rid", "track", t.sid, "rid", remote.RID())
		return
	}
	if err := t.receiver.AddLayer(idx, remote); err != nil {
		p.logger.Warn("cannot add layer", "track", t.sid, "rid", remote.RID(), "err", err)
		return
	}
	if remote.RID() != "" {
		p.logger.Debug("simulcast layer arrived", "track", t.sid, "rid", remote.RID(), "layer", idx)
		p.room.LayersChanged(p)
	}
}

// ownTrack finds one of the participant's own tracks, published or announced.
func (p *Participant) ownTrack(sid string) *PublishedTrack {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, t := range p.tracks {
		if t.sid == sid {
			return t
		}
	}
	for _, t := range p.pending {
		if t.sid == sid {
			return t
		}
	}
	return nil
}

func (p *Participant) handleUnpublish(m *protocol.Unpublish) error {
	t := p.ownTrack(m.TrackSid)
	if t == nil {
		return fmt.Errorf("%w: no track %q", ErrNotFound, m.TrackSid)
	}
	if _, ok := p.pending[t.cid]; ok {
		delete(p.pending, t.cid)
		return nil
	}
	p.mu.Lock()
	p.tracks = slices.DeleteFunc(p.tracks, func(x *PublishedTrack) bool { return x == t })
	p.mu.Unlock()
	p.env.retireReceiver(t.receiver)
	t.receiver.Close()
	p.logger.Info("track unpublished", "track", t.sid)
	p.room.TrackChanged(p, &protocol.TrackUnpublished{ParticipantSid: p.sid, TrackSid: t.sid})
	p.mu.Lock()
	info := t.info
	p.mu.Unlock()
	p.Emit(EventTrackUnpublished, &info, "")
	return nil
}

func (p *Participant) handleMute(m *protocol.Mute) error {
	t := p.ownTrack(m.TrackSid)
	if t == nil {
		return fmt.Errorf("%w: no track %q", ErrNotFound, m.TrackSid)
	}
	p.setMuted(t, m.Muted)
	return nil
}

// setMuted records the mute state and tells everyone.
func (p *Participant) setMuted(t *PublishedTrack, muted bool) {
	p.mu.Lock()
	changed := t.info.Muted != muted
	t.info.Muted = muted
	receiver := t.receiver
	p.mu.Unlock()
	if receiver != nil {
		receiver.SetMuted(muted)
	}
	if changed {
		p.announceUpdate()
	}
}

// MuteTrack mutes a track on behalf of an admin (the HTTP API); unmuting needs
// Config.AllowRemoteUnmute.
func (p *Participant) MuteTrack(trackSid string, muted bool) error {
	if !muted && !p.env.AllowRemoteUnmute {
		return fmt.Errorf("%w: remote unmute is off (podium serve --allow-remote-unmute)", ErrForbidden)
	}
	errc := make(chan error, 1)
	if !p.q.Push(func() {
		t := p.ownTrack(trackSid)
		if t == nil {
			errc <- fmt.Errorf("%w: no track %q", ErrNotFound, trackSid)
			return
		}
		p.setMuted(t, muted)
		errc <- nil
	}) {
		return ErrNotFound
	}
	return <-errc
}

func (p *Participant) handleUpdateMetadata(m *protocol.UpdateMetadata) error {
	if m.Name != nil && *m.Name != "" {
		for _, o := range p.room.Others(p) {
			if !o.perms.Hidden && strings.EqualFold(strings.TrimSpace(o.displayName()), strings.TrimSpace(*m.Name)) {
				return fmt.Errorf("%w: another participant is called %q", ErrConflict, *m.Name)
			}
		}
	}
	p.mu.Lock()
	if m.Name != nil {
		p.name = *m.Name
	}
	if m.Metadata != nil {
		p.metadata = *m.Metadata
	}
	p.mu.Unlock()
	p.announceUpdate()
	return nil
}

func (p *Participant) displayName() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.name
}

// announceUpdate sends participantUpdated to the participant itself and to everyone else, now
// or, when one went out less than an interval ago, once the interval has passed (with the
// state of then: package throttle).
func (p *Participant) announceUpdate() {
	if p.updates.Change(func() { p.q.Push(p.flushUpdate) }) {
		p.sendUpdate()
	}
}

func (p *Participant) flushUpdate() {
	if p.updates.Due() {
		p.sendUpdate()
	}
}

func (p *Participant) sendUpdate() {
	if p.remote == nil {
		p.room.Changed()
	}
	// The participant itself also learns its permissions, which the server API may change.
	p.Send(&protocol.ParticipantUpdated{Participant: p.InfoWithPermissions()})
	if p.perms.Hidden {
		return
	}
	msg := &protocol.ParticipantUpdated{Participant: p.Info()}
	for _, o := range p.room.Others(p) {
		o.Send(msg)
	}
}
