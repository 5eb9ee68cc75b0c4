package room

import (
	"context"
	"fmt"

	"github.com/podium-sfu/podium/room/participant"
)

// Ingest joins a WHIP publisher: each of j.Publishes is published as the WebSocket protocol's
// publish would be, and the answer, with every candidate, is returned. ErrBadRequest: the offer
// Ingest joins a WHIP publisher: each of j.Publishes is published as the WebSocket protocol's
// publish would be, and the answer, with every candidate, is returned. ErrBadRequest: the offer
// is malformed or publishes nothing; ErrForbidden: the token may not publish (or not that source).
func (m *Manager) Ingest(ctx context.Context, j HTTPJoin) (*Participant, string, error) {
	if len(j.Publishes) == 0 {
		return nil, "", fmt.Errorf("%w: the offer sends no audio or video", ErrBadRequest)
	}
	jp := j.Join
	if !jp.Permissions.CanPublish {
		return nil, "", fmt.Errorf("%w: this token may not publish", ErrForbidden)
	}
	jp.Permissions.CanSubscribe, jp.AutoSubscribe = false, false
	jp.Sink = participant.NewHTTPSession(j.Gone, "")
	return m.joinOverHTTP(j.Room, jp, func(p *Participant) (string, error) {
		return p.AnswerIngest(ctx, j.Publishes, j.Offer)
	})
}

// Egress joins a WHEP viewer: each of j.Receiving carries one of the room's tracks (From's
// only, when set) of its kind and codec, cameras and microphones first; the allocator chooses
// the video layers as for any subscriber. ErrNotFound: nothing to play.
func (m *Manager) Egress(ctx context.Context, j HTTPJoin) (*Participant, string, error) {
	jp := j.Join
	if !jp.Permissions.CanSubscribe {
		return nil, "", fmt.Errorf("%w: this token may not subscribe", ErrForbidden)
	}
	jp.Permissions.CanPublish, jp.Permissions.CanPublishData, jp.AutoSubscribe = false, false, false
	jp.Sink = participant.NewHTTPSession(j.Gone, j.From)
	return m.joinOverHTTP(j.Room, jp, func(p *Participant) (string, error) {
		return p.AnswerEgress(ctx, j.Receiving, j.Offer)
	})
}

// joinOverHTTP joins and answers the client's offer; when that fails the participant leaves
// again.
func (m *Manager) joinOverHTTP(roomName string, jp JoinParams, answer func(*Participant) (string, error)) (*Participant, string, error) {
	p, err := m.Join(roomName, jp)
	if err != nil {
		return nil, "", err
	}
	sdp, err := answer(p)
	if err != nil {
		p.Close("")
		return nil, "", err
	}
	return p, sdp, nil
}
