package peer

import (
	"fmt"

	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/sfu"
)

// sentTrack is a down track on the subscriber connection.
type sentTrack struct {
	sender      *webrtc.RTPSender
	transceiver *webrtc.RTPTransceiver
}

// mSections is the subscriber connection's m-section bookkeeping. A subscriber offer keeps an
// m-section for every transceiver it ever had, and it must fit one signalling frame: without
// reuse, each track that left a long meeting made every later offer longer for good.
type mSections struct {
	// Transceivers whose track has gone, on their way to reuse: sending nothing since the last
	// offer (retired), offered inactive and waiting for the answer (retiredOffered), inactive on
	// both sides (idle: the next track of their kind takes one).
	retired, retiredOffered, idle []*webrtc.RTPTransceiver
	kindsOffered                  map[webrtc.RTPCodecType]bool // kinds with an m-section offering every codec
}

// offered moves the transceivers retired since the last offer to waiting for its answer.
func (m *mSections) offered() {
	m.retiredOffered, m.retired = append(m.retiredOffered, m.retired...), nil
}

// answered makes the transceivers the answered offer made inactive free for reuse.
func (m *mSections) answered() {
	m.idle, m.retiredOffered = append(m.idle, m.retiredOffered...), nil
}

// AddTrack sends dt on the subscriber connection from the next offer on, on an idle m-section of
// its kind when there is one, and starts reading the client's RTCP for it.
func (p *Peer) AddTrack(dt *sfu.DownTrack) error {
	tr := p.reuse(dt)
	if tr == nil {
		var err error
		if tr, err = p.sub.AddTransceiverFromTrack(dt, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			return err
		}
	}
	// Offer the track's codec only: the m-section of a VP8 track that also offers H.264 is a
	// third longer, and a subscriber offer must fit one signalling frame. Except on the
	// connection's first m-section of each kind: pion may later offer only the codecs of the
	// first answer that had that kind, so it must learn every codec the client takes there.
	if !p.kindsOffered[dt.Kind()] {
		p.kindsOffered[dt.Kind()] = true
	} else if c, ok := sfu.CodecFor(dt.Receiver().Codec().MimeType); ok {
		if err := tr.SetCodecPreferences([]webrtc.RTPCodecParameters{c}); err != nil {
			p.logger.Warn("codec preferences", "track", dt.ID(), "err", err)
		}
	}
	s := &sentTrack{sender: tr.Sender(), transceiver: tr}
	p.tracks[dt] = s
	dt.StartRTCP(s.sender)
	return nil
}

// reuse puts dt on an idle transceiver of its kind and returns it; nil when there is none.
func (p *Peer) reuse(dt *sfu.DownTrack) *webrtc.RTPTransceiver {
	for i, tr := range p.idle {
		if tr.Kind() != dt.Kind() {
			continue
		}
		p.idle = append(p.idle[:i:i], p.idle[i+1:]...)
		sender, err := p.subTransport.NewSender(p.sub, dt)
		if err == nil {
			if err = tr.SetSender(sender, dt); err != nil {
				_ = sender.Stop()
			}
		}
		if err != nil {
			p.logger.Debug("transceiver not reused", "mid", tr.Mid(), "err", err)
			return nil
		}
		return tr
	}
	return nil
}

// Mid is the mid of dt's m-section, "" before the offer that carries it.
func (p *Peer) Mid(dt *sfu.DownTrack) string {
	if s := p.tracks[dt]; s != nil {
		return s.transceiver.Mid()
	}
	return ""
}

// RemoveTrack stops sending dt; its m-section goes inactive with the next offer and is reused
// once the client has answered that offer. The caller then waits for dt's RTCP reader (WaitRTCP).
func (p *Peer) RemoveTrack(dt *sfu.DownTrack) error {
	s := p.tracks[dt]
	if s == nil {
		return nil
	}
	delete(p.tracks, dt)
	if err := p.sub.RemoveTrack(s.sender); err != nil {
		return fmt.Errorf("remove track: %w", err)
	}
	p.retired = append(p.retired, s.transceiver)
	return nil
}
