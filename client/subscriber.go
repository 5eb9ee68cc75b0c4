package client

import (
	"sync"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/client/arrivals"
	"github.com/podium-sfu/podium/client/internal/idlemids"
	"github.com/podium-sfu/podium/client/internal/sigconn"
	"github.com/podium-sfu/podium/protocol"
)

// RemoteTrack is a track the server forwards to this client. Read its media from Track; pion's
// NACKs are sent as Track is read (the congestion feedback does not wait for it). The client
// reads the Receiver's RTCP itself (the server's sender reports, which its receiver reports
// answer): do not read it too.
type RemoteTrack struct {
	ParticipantSid string
	TrackSid       string
	Participant    protocol.ParticipantInfo // as known when the track arrived
	Info           protocol.TrackInfo
	Track          *webrtc.TrackRemote
	Receiver       *webrtc.RTPReceiver

	pc *webrtc.PeerConnection
}

// RequestKeyframe sends a PLI for the track to the server.
func (rt *RemoteTrack) RequestKeyframe() error {
	return rt.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(rt.Track.SSRC())}})
}

// subscriber is the connection the server offers on.
type subscriber struct {
	*peer

	arrived *arrivals.Recorder // the connection's congestion feedback

	mu       sync.Mutex
	expected map[string]protocol.TrackSubscribed // by mid and by track sid, from trackSubscribed

	idle idlemids.Tracker // only the reader uses it
}

func newSubscriber(c *Client, sig *sigconn.Conn, api *webrtc.API, cfg webrtc.Configuration, arrived *arrivals.Recorder) (*subscriber, error) {
	// Header extensions in the clear (no RFC 9335 cryptex), so that the socket can read the
	// transport-wide sequence numbers it stamps (see arrivals). Podium's own send path does
	// not encrypt them either.
	cfg.RTPHeaderEncryptionPolicy = webrtc.RTPHeaderEncryptionPolicyDisable
	p, err := newPeer(c, sig, api, cfg, protocol.TargetSubscriber, nil)
	if err != nil {
		return nil, err
	}
	s := &subscriber{peer: p, arrived: arrived, expected: map[string]protocol.TrackSubscribed{}}
	p.pc.OnTrack(s.onTrack)
	p.pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		label := dc.Label()
		dc.OnMessage(func(msg webrtc.DataChannelMessage) {
			if !c.data.push(newDataPacket(label, msg)) {
				c.overrun("Data")
			}
		})
	})
	return s, nil
}

// expect records a trackSubscribed, which comes just before the offer that adds the track.
func (s *subscriber) expect(m *protocol.TrackSubscribed) {
	s.mu.Lock()
	s.expected[m.TrackSid] = *m
	if m.Mid != "" {
		s.expected["mid:"+m.Mid] = *m
	}
	s.mu.Unlock()
}

// handleOffer answers a subscriber offer. It runs on the reader, so offers are applied in order
// and the answer goes out before any later message is handled.
func (s *subscriber) handleOffer(m *protocol.Offer) {
	s.Restarting(false)                     // an offer that restarts ICE gathers anew as it is applied
	offer, fixAnswer := s.idle.Offer(m.SDP) // internal/idlemids
	err := s.SetRemote(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer})
	if err == nil {
		s.arrived.Negotiated(m.SDP)
	}
	var answer webrtc.SessionDescription
	if err == nil {
		answer, err = s.pc.CreateAnswer(nil)
	}
	if err == nil {
		err = s.pc.SetLocalDescription(answer)
	}
	if err != nil {
		s.c.log.Error("cannot answer the subscriber offer", "err", err)
		return
	}
	_ = s.SendDescription(&protocol.Answer{ID: m.ID, Target: protocol.TargetSubscriber, SDP: fixAnswer(answer.SDP)})
}

// onTrack runs in pion's goroutine when a track's first packet arrives. The msid names the
// track (`<participantSid> <trackSid>`); the trackSubscribed for its mid, when one came, wins.
func (s *subscriber) onTrack(track *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
	psid, tsid := track.StreamID(), track.ID()
	mid := ""
	for _, tr := range s.pc.GetTransceivers() {
		if tr.Receiver() == receiver {
			mid = tr.Mid()
		}
	}
	s.mu.Lock()
	ts, ok := s.expected["mid:"+mid]
	if !ok {
		ts, ok = s.expected[tsid]
	}
	if ok {
		psid, tsid = ts.ParticipantSid, ts.TrackSid
		delete(s.expected, "mid:"+ts.Mid)
		delete(s.expected, ts.TrackSid)
	}
	s.mu.Unlock()
	participant, info := s.c.lookupTrack(psid, tsid)
	s.c.log.Debug("track arrived", "from", psid, "track", tsid, "codec", track.Codec().MimeType)
	go drainRTCP(receiver) // ends when the receiver stops
	if !s.c.tracks.push(&RemoteTrack{
		ParticipantSid: psid, TrackSid: tsid, Participant: participant, Info: info,
		Track: track, Receiver: receiver, pc: s.pc,
	}) {
		s.c.overrun("Tracks")
	}
}

// drainRTCP reads the sender reports for one received track: pion's interceptors see RTCP only
// as it is read, and the receiver reports carry the round-trip time only after a sender report.
func drainRTCP(r *webrtc.RTPReceiver) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := r.Read(buf); err != nil {
			return
		}
	}
}

func (s *subscriber) close() {
	if err := s.pc.Close(); err != nil {
		s.c.log.Debug("closing the subscriber connection", "err", err)
	}
}
