// Package sfu is Podium's media plane: the Engine that makes peer connections, up tracks
// (Receiver) and per-subscriber down tracks (DownTrack). Its leaves do one job each: what the
// connections are made of (pionapi: codecs, header extensions, interceptors, settings, the
// media ports), the fast path past pion (fastpath), bandwidth estimation (bwe), the feedback to
// publishers (feedback), the packet cache, speaker detection, the clock, the munger (rewrite),
// codec parsers (codec) and pion's logs (pionlog). It knows pion; it does not know rooms, JSON
// or HTTP.
package sfu

import (
	"errors"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/transport/v5"
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/sfu/bwe"
	"github.com/podium-sfu/podium/sfu/fastpath"
	"github.com/podium-sfu/podium/sfu/feedback"
	"github.com/podium-sfu/podium/sfu/pionapi"
	"github.com/podium-sfu/podium/sfu/udpsock"
)

// Header extension URIs negotiated on every connection.
const (
	AudioLevelURI  = sdp.AudioLevelURI
	TWCCURI        = sdp.TransportCCURI
	AbsSendTimeURI = sdp.ABSSendTimeURI
)

// Config configures the media plane.
type Config struct {
	// BindIP is the address the UDP and TCP media sockets listen on ("127.0.0.1" by default).
	BindIP string
	// UDPPort is the one UDP port all ICE traffic shares (0 picks a free port).
	UDPPort int
	// TCPPort is the ICE-TCP port (0 picks a free port, -1 disables ICE-TCP).
	TCPPort int
	// NodeIPs replace the host address in candidates (behind NAT or in a container).
	NodeIPs []string
	// LoopbackOnly keeps every candidate on 127.0.0.1 (tests).
	LoopbackOnly bool
	// WrapPacketConn, when set, wraps the UDP socket (tests inject loss and delay with it); there
	// is then one socket (UDPReaders 1).
	WrapPacketConn func(net.PacketConn) net.PacketConn
	// PLIInterval is the shortest time between two keyframe requests to one publisher track.
	PLIInterval time.Duration
	// PacketCacheSize is how many packets of each video track are kept for NACK (a power of two).
	PacketCacheSize int
	// SocketBuffer is the kernel buffer size of the media socket (0: 4 MiB, negative: system default).
	SocketBuffer int
	// UDPReaders is how many sockets share the UDP port (SO_REUSEPORT, Linux), each with a reader
	// that forwards what it receives, so that forwarding spreads over cores. 0: one per core
	// (GOMAXPROCS), up to 8; 1 elsewhere than Linux.
	UDPReaders int
	// BandwidthEstimation runs a send-side estimator per peer connection (Estimate reports -1
	// without it).
	BandwidthEstimation bool
	// InitialBitrate and MaxBitrate bound each subscriber's bandwidth estimate (bits/s).
	InitialBitrate, MaxBitrate int
	// InlineFanOut is the most subscribers a published track's packets are sent to by the media
	// socket's reader itself; above it, writer goroutines send them (ReceiverParams). 0:
	// DefaultInlineFanOut; negative: the reader always does.
	InlineFanOut int
	// DisableFastPath leaves all media to pion: Podium derives no SRTP keys and neither encrypts
	// nor decrypts itself (fastpath.Transport). Slower; for comparison, and a way out should Podium's
	// path misbehave.
	DisableFastPath bool
	Logger          *slog.Logger

	interfaces func() ([]net.IP, error)            // tests: the addresses an unspecified BindIP means
	keyFilter  func(*fastpath.Keys) *fastpath.Keys // tests: what becomes of each connection's derived keys
	vnet       transport.Net                       // tests: pion's virtual network instead of the host's (UDP only)
}

func (c *Config) defaults() {
	if c.BindIP == "" {
		c.BindIP = "127.0.0.1"
	}
	if c.PLIInterval == 0 {
		c.PLIInterval = 500 * time.Millisecond
	}
	if c.PacketCacheSize == 0 {
		c.PacketCacheSize = 512
	}
	if c.SocketBuffer == 0 {
		c.SocketBuffer = 4 << 20
	}
	if c.UDPReaders <= 0 {
		c.UDPReaders = udpsock.DefaultReaders(runtime.GOMAXPROCS(0))
	}
	if c.WrapPacketConn != nil {
		c.UDPReaders = 1 // a test's wrapper stands for one socket
	}
	if c.InlineFanOut == 0 {
		c.InlineFanOut = DefaultInlineFanOut
	}
	if c.InitialBitrate == 0 {
		c.InitialBitrate = 3_000_000
	}
	if c.MaxBitrate == 0 {
		c.MaxBitrate = 20_000_000
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Engine builds peer connections that share the media sockets, codecs and interceptors
// (sfu/pionapi), each with the fastpath.Transport Podium's own path takes it through.
type Engine struct {
	cfg        Config
	base       *pionapi.Base
	api        *webrtc.API
	estimators sync.Map        // peer connection id -> *bwe.Estimator
	upstreams  sync.Map        // peer connection id -> *feedback.Upstream
	routes     fastpath.Routes // clients' addresses -> their Transports, for the sockets' readers
}

// NewEngine opens the media sockets and prepares the WebRTC API.
func NewEngine(cfg Config) (*Engine, error) {
	cfg.defaults()
	e := &Engine{cfg: cfg}
	base, err := pionapi.New(pionapi.Config{
		BindIP: cfg.BindIP, UDPPort: cfg.UDPPort, TCPPort: cfg.TCPPort, UDPReaders: cfg.UDPReaders,
		SocketBuffer: cfg.SocketBuffer, NodeIPs: cfg.NodeIPs, LoopbackOnly: cfg.LoopbackOnly,
		WrapPacketConn: cfg.WrapPacketConn, Routes: &e.routes,
		BandwidthEstimation: cfg.BandwidthEstimation, InitialBitrate: cfg.InitialBitrate, MaxBitrate: cfg.MaxBitrate,
		OnEstimator: func(id string, est *bwe.Estimator) { e.estimators.Store(id, est) },
		OnUpstream:  func(id string, u *feedback.Upstream) { e.upstreams.Store(id, u) },
		Logger:      cfg.Logger, Interfaces: cfg.interfaces, Net: cfg.vnet,
	})
	if err != nil {
		return nil, err
	}
	e.base = base
	e.api = webrtc.NewAPI(webrtc.WithMediaEngine(base.Media), webrtc.WithInterceptorRegistry(base.Interceptors),
		webrtc.WithSettingEngine(base.Settings))
	return e, nil
}

// CodecFor is the codec Podium registers for a MIME type: what a subscriber's m-section of a
// track in that codec offers, and nothing else (SetCodecPreferences).
func CodecFor(mimeType string) (webrtc.RTPCodecParameters, bool) { return pionapi.CodecFor(mimeType) }

// NewPeerConnection creates a peer connection on the shared sockets.
func (e *Engine) NewPeerConnection() (*webrtc.PeerConnection, error) {
	if e.api == nil {
		return nil, errors.New("sfu: engine closed")
	}
	return e.api.NewPeerConnection(pionapi.PeerConnection)
}

// NewSubscriberConnection creates a peer connection that sends media, with the Transport its
// down tracks write through and its subscriber's RTCP is read by.
func (e *Engine) NewSubscriberConnection() (*webrtc.PeerConnection, *fastpath.Transport, error) {
	return e.newOwnedConnection(pionapi.SubscriberConnection, e.base.SubscriberMedia, false)
}

// NewPublisherConnection creates a peer connection that receives media, with the Transport its
// Receivers' layers are read through (ReceiverParams.Transport).
func (e *Engine) NewPublisherConnection() (*webrtc.PeerConnection, *fastpath.Transport, error) {
	return e.newOwnedConnection(pionapi.PeerConnection, e.base.Media, true)
}

// NewRelayConnection is NewPublisherConnection (publisher) or NewSubscriberConnection for a
// relay to another node, on UDP sockets of its own: between two nodes' shared media ports,
// every relay connection would have the same address pair, and ICE and the route table tell
// connections apart by it. Its media takes pion's path.
func (e *Engine) NewRelayConnection(publisher bool) (*webrtc.PeerConnection, *fastpath.Transport, error) {
	if e.api == nil {
		return nil, nil, errors.New("sfu: engine closed")
	}
	se := e.base.Settings
	se.SetICEUDPMux(nil)
	se.SetICETCPMux(nil)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	p := fastpath.Params{Socket: e.base.SocketFor, Routes: &e.routes, Logger: e.cfg.Logger}
	media, cfg := e.base.SubscriberMedia, pionapi.SubscriberConnection
	if publisher {
		media, cfg = e.base.Media, pionapi.PeerConnection
	}
	p.API = webrtc.NewAPI(webrtc.WithMediaEngine(media), webrtc.WithInterceptorRegistry(e.base.Interceptors), webrtc.WithSettingEngine(se))
	pc, err := p.API.NewPeerConnection(cfg)
	if err != nil {
		return nil, nil, err
	}
	if v, ok := e.upstreams.Load(pc.ID()); ok && publisher {
		p.Feedback = v.(*feedback.Upstream)
	}
	t := fastpath.New(p)
	t.Watch(pc)
	return pc, t, nil
}

// newOwnedConnection creates a peer connection whose SRTP keys Podium captures, so that its own
// read and write paths (fastpath.Transport) can use them; a publisher's feedback goes on them too.
func (e *Engine) newOwnedConnection(cfg webrtc.Configuration, media *webrtc.MediaEngine, publisher bool) (*webrtc.PeerConnection, *fastpath.Transport, error) {
	if e.api == nil {
		return nil, nil, errors.New("sfu: engine closed")
	}
	p := fastpath.Params{Socket: e.base.SocketFor, Routes: &e.routes, KeyFilter: e.cfg.keyFilter, Logger: e.cfg.Logger}
	se := e.base.Settings
	if !e.cfg.DisableFastPath {
		p.Capture = &fastpath.KeyCapture{}
		p.Capture.Capture(&se)
	}
	p.API = webrtc.NewAPI(webrtc.WithMediaEngine(media), webrtc.WithInterceptorRegistry(e.base.Interceptors), webrtc.WithSettingEngine(se))
	pc, err := p.API.NewPeerConnection(cfg)
	if err != nil {
		return nil, nil, err
	}
	if v, ok := e.estimators.Load(pc.ID()); ok {
		p.Estimator = v.(*bwe.Estimator)
	}
	if v, ok := e.upstreams.Load(pc.ID()); ok && publisher {
		p.Feedback = v.(*feedback.Upstream)
	}
	t := fastpath.New(p)
	t.Watch(pc)
	return pc, t, nil
}

// Forget drops the estimator of a closed peer connection.
func (e *Engine) Forget(pc *webrtc.PeerConnection) {
	e.estimators.Delete(pc.ID())
	e.upstreams.Delete(pc.ID())
}

// UDPAddr is the media UDP address (useful when UDPPort was 0).
func (e *Engine) UDPAddr() net.Addr { return e.base.UDPAddr() }

// TCPAddr is the ICE-TCP address, or nil when disabled.
func (e *Engine) TCPAddr() net.Addr { return e.base.TCPAddr() }

// Config returns the engine's configuration with defaults applied.
func (e *Engine) Config() Config { return e.cfg }

// Close closes the media sockets. Close every peer connection first.
func (e *Engine) Close() error { return e.base.Close() }
