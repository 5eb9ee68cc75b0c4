// Package stats holds the read-only snapshots of rooms for operators (the admin dashboard) and
// the node's totals for metrics, made from the media plane's own counters. Counters are
// cumulative; a caller derives rates from two snapshots. Package room gathers them.
package stats

import (
	"time"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room/alloc"
	"github.com/podium-sfu/podium/sfu"
)

// Track is a snapshot of one published track.
type Track struct {
	Info                      protocol.TrackInfo
	Packets, Bytes, Keyframes uint64 // all layers together
	DirectPackets             uint64 // of Packets, those Podium's own read path received
	// Layers are the simulcast layers received (one for a track without simulcast).
	Layers []Layer
	// AudioLevel is the RFC 6464 level of the last audio packet (0 loudest, 127 silence).
	AudioLevel  uint8
	Subscribers int
}

// Layer is what arrives of one layer of a published track.
type Layer struct {
	RID           string
	Active        bool // a packet arrived within the last second
	Bitrate       uint64
	FPS           uint32
	Width, Height int // from the last keyframe, 0 when unknown
}

// Subscription is a snapshot of one track forwarded to a subscriber.
type Subscription struct {
	TrackSid, PublisherSid, PublisherIdentity string
	Kind, Source                              string
	// Layer is the simulcast layer forwarded ("q", "h", "f"); empty for audio and for a video
	// that is paused or not started.
	Layer                                    string
	Paused                                   bool // a video forwarding no layer
	Packets, Bytes, NACKs, Retransmits, PLIs uint64
	DirectPackets                            uint64  // sent by Podium's own write path
	DirectRTCP                               uint64  // the subscriber's RTCP for it taken by Podium's read path
	FractionLost                             float64 // from the subscriber's last receiver report
	RTT                                      time.Duration
	// Settings is the last trackSettings the subscriber sent for the track, if any.
	Settings *protocol.TrackSettings
}

// Participant is a snapshot of one participant.
type Participant struct {
	Info                            protocol.ParticipantInfo
	Hidden                          bool
	PublisherState, SubscriberState string
	Tracks                          []Track
	Subscriptions                   []Subscription
	// Quality is the last connection quality announced for the participant ("" before any).
	Quality string
	// DownlinkEstimate is the bandwidth estimate towards the participant (bits/s; -1 without
	// one): what its video budget is made of.
	DownlinkEstimate int
	// Partial is true when the participant's control queue did not answer within the timeout
	// (Subscriptions is then empty).
	Partial bool
}

// NewTrack snapshots a published track from its receiver's counters.
func NewTrack(info protocol.TrackInfo, rs sfu.ReceiverStats) Track {
	ts := Track{Info: info, AudioLevel: rs.AudioLevel, Subscribers: rs.DownTracks}
	for _, l := range rs.Layers {
		ts.Packets += l.Packets
		ts.Bytes += l.Bytes
		ts.Keyframes += l.Keyframes
		ts.DirectPackets += l.Direct
		rid := l.RID
		if simulcast(info, rs.Layers) {
			rid = LayerRID(l.Index, rs.Layers)
		}
		ts.Layers = append(ts.Layers, Layer{RID: rid, Active: l.Active, Bitrate: l.Bitrate, FPS: l.FPS, Width: l.Width, Height: l.Height})
	}
	return ts
}

// NewSubscription snapshots a subscription to a track (info, its receiver's layers) of a
// publisher from its down track's counters.
func NewSubscription(info protocol.TrackInfo, publisherSid, publisherIdentity string, layers []sfu.LayerStats,
	ds sfu.DownTrackStats) Subscription {
	st := Subscription{
		TrackSid: info.Sid, PublisherSid: publisherSid, PublisherIdentity: publisherIdentity,
		Kind: info.Kind, Source: info.Source, Packets: ds.Packets, Bytes: ds.Bytes,
		NACKs: ds.NACKs, Retransmits: ds.Retransmits, PLIs: ds.PLIs, DirectPackets: ds.Direct, DirectRTCP: ds.DirectRTCP,
		FractionLost: ds.FractionLost, RTT: ds.RTT,
	}
	if info.Kind == protocol.KindVideo {
		switch {
		case ds.CurrentLayer == sfu.LayerNone:
			st.Paused = true
		case simulcast(info, layers):
			st.Layer = LayerRID(ds.CurrentLayer, layers)
		}
	}
	return st
}

// simulcast reports whether a track is a video sent as several layers (announced or received).
func simulcast(info protocol.TrackInfo, layers []sfu.LayerStats) bool {
	return info.Kind == protocol.KindVideo && (len(info.Layers) > 1 || len(layers) > 1)
}

// LayerRID names a layer index for streamState and stats: the rid it arrives with, else q/h/f.
func LayerRID(idx int, layers []sfu.LayerStats) string {
	for _, s := range layers {
		if s.Index == idx && s.RID != "" {
			return s.RID
		}
	}
	return alloc.ConventionalRID(idx)
}
