package client

import (
	"slices"

	"github.com/podium-sfu/podium/protocol"
)

// The client's view of the room, kept from `joined` and the events after it. Slices inside a
// stored ParticipantInfo are never modified in place (copy on write), so copies handed out stay
// valid.

func (c *Client) applyJoined(j *protocol.Joined) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.self, c.room = j.Participant, j.Room
	for _, p := range j.Participants {
		c.upsertLocked(p)
	}
}

func (c *Client) applyEvent(m protocol.Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch m := m.(type) {
	case *protocol.ParticipantJoined:
		c.upsertLocked(m.Participant)
	case *protocol.ParticipantUpdated:
		if m.Participant.Sid == c.self.Sid {
			p := m.Participant
			if p.Permissions == nil {
				p.Permissions = c.self.Permissions
			}
			c.self = p
			return
		}
		c.upsertLocked(m.Participant)
	case *protocol.RoomUpdated:
		c.room = m.Room
	case *protocol.ParticipantLeft:
		if _, ok := c.participants[m.Sid]; ok {
			delete(c.participants, m.Sid)
			c.order = slices.DeleteFunc(slices.Clone(c.order), func(s string) bool { return s == m.Sid })
		}
	case *protocol.TrackPublished:
		c.updateTracksLocked(m.ParticipantSid, func(ts []protocol.TrackInfo) []protocol.TrackInfo {
			ts = slices.DeleteFunc(ts, func(t protocol.TrackInfo) bool { return t.Sid == m.Track.Sid })
			return append(ts, m.Track)
		})
	case *protocol.TrackUnpublished:
		c.updateTracksLocked(m.ParticipantSid, func(ts []protocol.TrackInfo) []protocol.TrackInfo {
			return slices.DeleteFunc(ts, func(t protocol.TrackInfo) bool { return t.Sid == m.TrackSid })
		})
		delete(c.streams, m.TrackSid)
	case *protocol.ActiveSpeakers:
		c.dominant = ""
		if m.Dominant != nil {
			c.dominant = *m.Dominant
		}
		c.speakers = m.Speakers
	case *protocol.StreamState:
		if c.streams == nil {
			c.streams = map[string]protocol.StreamState{}
		}
		c.streams[m.TrackSid] = *m
	}
}

// StreamState is what the server last said this client receives for a video: active or paused,
// the simulcast layer ("q", "h", "f") and why.
func (c *Client) StreamState(trackSid string) (protocol.StreamState, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.streams[trackSid]
	return s, ok
}

// DominantSpeaker is the participant sid the server last named dominant ("" before anyone spoke).
func (c *Client) DominantSpeaker() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dominant
}

// ActiveSpeakers are the participants the server last said are speaking, loudest first.
func (c *Client) ActiveSpeakers() []protocol.SpeakerInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.speakers)
}

// ReceivedLayer is the simulcast layer this client receives for a video, "" when paused or unknown.
func (c *Client) ReceivedLayer(trackSid string) string {
	if s, ok := c.StreamState(trackSid); ok && s.Layer != nil {
		return *s.Layer
	}
	return ""
}

func (c *Client) upsertLocked(p protocol.ParticipantInfo) {
	if _, ok := c.participants[p.Sid]; !ok {
		c.order = append(c.order, p.Sid)
	}
	c.participants[p.Sid] = p
}

// updateTracksLocked replaces a participant's (or this client's own) track list with edit of
// a copy of it.
func (c *Client) updateTracksLocked(sid string, edit func([]protocol.TrackInfo) []protocol.TrackInfo) {
	if sid == c.self.Sid {
		c.self.Tracks = edit(slices.Clone(c.self.Tracks))
		return
	}
	p, ok := c.participants[sid]
	if !ok {
		return
	}
	p.Tracks = edit(slices.Clone(p.Tracks))
	c.participants[sid] = p
}

// Self is this participant as the server last described it.
func (c *Client) Self() protocol.ParticipantInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.self
}

// Room is the room as described in `joined`.
func (c *Client) Room() protocol.RoomInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.room
}

// Participants are the other visible participants, in the order they became known.
func (c *Client) Participants() []protocol.ParticipantInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]protocol.ParticipantInfo, 0, len(c.order))
	for _, sid := range c.order {
		out = append(out, c.participants[sid])
	}
	return out
}

// lookupTrack finds a participant and one of its tracks in the current view.
func (c *Client) lookupTrack(participantSid, trackSid string) (protocol.ParticipantInfo, protocol.TrackInfo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.participants[participantSid]
	for _, t := range p.Tracks {
		if t.Sid == trackSid {
			return p, t
		}
	}
	return p, protocol.TrackInfo{Sid: trackSid}
}
