// Package peer holds one participant's two pion peer connections: the publisher connection the
// client sends on and the subscriber connection the server sends on. It does what touches them:
// offers and answers, ICE candidates, the subscriber's m-sections and their reuse, the data
// channels and their buffered budgets, RTCP and the bandwidth estimate. It knows nothing of
// rooms, permissions or the wire protocol. Its caller (package room) serialises the calls that
// negotiate and add or remove tracks on the participant's control queue; SendData, the estimates
// and States are safe from any goroutine.
package peer

import (
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/sfu"
	"github.com/podium-sfu/podium/sfu/clock"
	"github.com/podium-sfu/podium/sfu/fastpath"
)

// Side names one of the two connections.
type Side int

// The two connections of a participant.
const (
	Publisher  Side = iota // the client offers, the server answers; media arrives on it
	Subscriber             // the server offers, the client answers; media leaves on it
)

func (s Side) String() string {
	if s == Subscriber {
		return "subscriber"
	}
	return "publisher"
}

// Config is what a Peer needs besides its engine.
type Config struct {
	// MaxOfferSDP is the longest subscriber offer the client can take; a longer one is not set.
	MaxOfferSDP int
	// Data are the data channels' buffered budgets towards the client.
	Data DataBudgets
	// Clock ticks the feedback to the publisher (the room's clock); nil: its own ticker.
	Clock  *clock.Clock
	Logger *slog.Logger
	// Relay puts both connections on sockets of their own (a relay between nodes, see
	// sfu.Engine.NewRelayConnection).
	Relay bool
}

// Callbacks are called on pion's goroutines: each must hand its work to the caller's own
// goroutine and return.
type Callbacks struct {
	// Candidate is a local ICE candidate to trickle to the client; nil at the end of gathering.
	Candidate func(side Side, c *webrtc.ICECandidateInit)
	// Failed is called when either connection fails for good.
	Failed func()
	// Closed is called when either connection closes: Close, or the client's DTLS close_notify.
	Closed func()
	// Track is one stream arriving on the publisher connection (a simulcast layer or a track).
	Track func(remote *webrtc.TrackRemote, rr *webrtc.RTPReceiver)
	// Data is a message on one of the client's data channels.
	Data func(label string, m webrtc.DataChannelMessage)
}

// Peer is one participant's publisher and subscriber connections.
type Peer struct {
	engine       *sfu.Engine
	cfg          Config
	logger       *slog.Logger
	pub, sub     *webrtc.PeerConnection
	pubTransport *fastpath.Transport            // Podium's own read path from the publisher connection
	subTransport *fastpath.Transport            // Podium's own write path to the subscriber connection
	channels     map[string]*webrtc.DataChannel // the server's, towards the client; read-only once made

	// owned by the caller's goroutine
	remoteCands [2][]webrtc.ICECandidateInit // arrived before their connection's remote description
	restartICE  bool                         // the next subscriber offer restarts ICE
	tracks      map[*sfu.DownTrack]*sentTrack
	mSections

	reliableOverSince atomic.Int64 // see DataBudgets
}

// ErrClosed is returned when the connection has closed (the client went).
var ErrClosed = webrtc.ErrConnectionClosed

// New makes both connections and the server's data channels.
func New(engine *sfu.Engine, cfg Config, cb Callbacks) (*Peer, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	p := &Peer{engine: engine, cfg: cfg, logger: cfg.Logger, channels: map[string]*webrtc.DataChannel{},
		tracks: map[*sfu.DownTrack]*sentTrack{}}
	p.kindsOffered = map[webrtc.RTPCodecType]bool{}
	var err error
	newPub, newSub := engine.NewPublisherConnection, engine.NewSubscriberConnection
	if cfg.Relay {
		newPub = func() (*webrtc.PeerConnection, *fastpath.Transport, error) { return engine.NewRelayConnection(true) }
		newSub = func() (*webrtc.PeerConnection, *fastpath.Transport, error) { return engine.NewRelayConnection(false) }
	}
	if p.pub, p.pubTransport, err = newPub(); err != nil {
		return nil, fmt.Errorf("publisher connection: %w", err)
	}
	if cfg.Clock != nil {
		p.pubTransport.UseClock(cfg.Clock) // the feedback to this publisher ticks with the room
	}
	if p.sub, p.subTransport, err = newSub(); err != nil {
		_ = p.pub.Close()
		return nil, fmt.Errorf("subscriber connection: %w", err)
	}
	if err := p.openDataChannels(); err != nil {
		_ = p.pub.Close()
		_ = p.sub.Close()
		return nil, err
	}
	p.wire(cb)
	return p, nil
}

// wire installs the pion callbacks.
func (p *Peer) wire(cb Callbacks) {
	for side, pc := range map[Side]*webrtc.PeerConnection{Publisher: p.pub, Subscriber: p.sub} {
		pc.OnICECandidate(func(c *webrtc.ICECandidate) {
			if c == nil {
				cb.Candidate(side, nil)
				return
			}
			init := c.ToJSON()
			cb.Candidate(side, &init)
		})
		pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
			p.logger.Debug("connection state", "target", side.String(), "state", s.String())
			switch s {
			case webrtc.PeerConnectionStateFailed:
				cb.Failed()
			case webrtc.PeerConnectionStateClosed:
				if cb.Closed != nil {
					cb.Closed()
				}
			}
		})
	}
	p.pub.OnTrack(cb.Track)
	p.pub.OnDataChannel(func(dc *webrtc.DataChannel) {
		label := dc.Label()
		dc.OnMessage(func(m webrtc.DataChannelMessage) { cb.Data(label, m) })
	})
}

func (p *Peer) pc(side Side) *webrtc.PeerConnection {
	if side == Subscriber {
		return p.sub
	}
	return p.pub
}

// NewReceiver makes the Receiver of a track arriving on the publisher connection: its RTCP goes
// back on that connection, its layers are read by Podium's read path when it owns the connection.
func (p *Peer) NewReceiver(remote *webrtc.TrackRemote, rr *webrtc.RTPReceiver, logger *slog.Logger) *sfu.Receiver {
	var levelID uint8
	for _, x := range rr.GetParameters().HeaderExtensions {
		if x.URI == sfu.AudioLevelURI {
			levelID = uint8(x.ID)
		}
	}
	cfg := p.engine.Config()
	return sfu.NewReceiver(sfu.ReceiverParams{
		Codec: remote.Codec(), Kind: remote.Kind(), AudioLevelID: levelID,
		WriteRTCP: p.pub.WriteRTCP, CacheSize: cfg.PacketCacheSize, PLIInterval: cfg.PLIInterval,
		Logger: logger, Transport: p.pubTransport, InlineFanOut: cfg.InlineFanOut,
	})
}

// NewDownTrack makes a down track of r that Podium's write path sends when it owns the
// subscriber connection.
func (p *Peer) NewDownTrack(r *sfu.Receiver, params sfu.DownTrackParams) *sfu.DownTrack {
	params.Transport = p.subTransport
	return sfu.NewDownTrack(r, params)
}

// Estimate is the bandwidth estimate towards the client (bits/s), -1 without one.
func (p *Peer) Estimate() int { return p.engine.Estimate(p.sub) }

// MeasuredEstimate is Estimate, and whether it comes from the client's feedback.
func (p *Peer) MeasuredEstimate() (int, bool) { return p.engine.MeasuredEstimate(p.sub) }

// EstimatorStats is the estimator's internal state (nil without one).
func (p *Peer) EstimatorStats() map[string]any { return p.engine.EstimatorStats(p.sub) }

// States are the connection states of the publisher and subscriber connections.
func (p *Peer) States() (publisher, subscriber webrtc.PeerConnectionState) {
	return p.pub.ConnectionState(), p.sub.ConnectionState()
}

// Close closes both connections, which ends every reader of them.
func (p *Peer) Close() {
	err := errors.Join(p.pub.Close(), p.sub.Close())
	p.engine.Forget(p.pub)
	p.engine.Forget(p.sub)
	if err != nil {
		p.logger.Debug("closing peer connections", "err", err)
	}
}
