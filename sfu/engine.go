// Package sfu is Podium's media plane: the WebRTC API (codecs, header extensions, interceptors and
// the media sockets), up tracks (Receiver) and per-subscriber down tracks (DownTrack). Its leaves
// do one job each: the fast path past pion (fastpath), bandwidth estimation (bwe), the feedback
// to publishers (feedback), the packet cache, speaker detection, the clock, the munger
// (rewrite), codec parsers (codec) and pion's logs (pionlog). It knows pion; it does not know
// rooms, JSON or HTTP.
package sfu

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/sdp/v3"
	"github.com/pion/transport/v5"
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/sfu/bwe"
	"github.com/podium-sfu/podium/sfu/fastpath"
	"github.com/podium-sfu/podium/sfu/feedback"
	"github.com/podium-sfu/podium/sfu/pionlog"
	"github.com/podium-sfu/podium/sfu/udpsock"
)

// Payload types Podium offers; clients that want to match exactly use the same numbers.
const (
	PayloadTypeOpus = 111
	PayloadTypeVP8  = 96
	PayloadTypeH264 = 102
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

// Engine builds peer connections that share the media sockets, codecs and interceptors.
type Engine struct {
	cfg        Config
	api        *webrtc.API
	media      *webrtc.MediaEngine
	subMedia   *webrtc.MediaEngine // subscriber connections': fewer header extensions
	reg        *interceptor.Registry
	settings   webrtc.SettingEngine
	udpConn    net.PacketConn
	sockets    map[netip.Addr]*udpsock.Socket // the sockets pion's ICE sends on (wrapped in tests), by address
	udpMux     ice.UDPMux
	tcpLn      net.Listener
	tcpMux     ice.TCPMux
	estimators sync.Map        // peer connection id -> *bwe.Estimator
	upstreams  sync.Map        // peer connection id -> *feedback.Upstream
	routes     fastpath.Routes // clients' addresses -> their Transports, for the sockets' readers
}

// NewEngine opens the media sockets and prepares the WebRTC API.
func NewEngine(cfg Config) (*Engine, error) {
	cfg.defaults()
	e := &Engine{cfg: cfg}
	if err := e.listen(); err != nil {
		e.Close()
		return nil, err
	}
	me, err := newMediaEngine(false)
	if err != nil {
		e.Close()
		return nil, err
	}
	if e.subMedia, err = newMediaEngine(true); err != nil {
		e.Close()
		return nil, err
	}
	ir, err := e.newInterceptors()
	if err != nil {
		e.Close()
		return nil, err
	}
	se, err := e.settingEngine()
	if err != nil {
		e.Close()
		return nil, err
	}
	e.media, e.reg, e.settings = me, ir, se
	e.api = webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
	return e, nil
}

func (e *Engine) listen() error {
	logger := pionlog.NewFactory(e.cfg.Logger)
	bind := net.ParseIP(e.cfg.BindIP)
	if bind == nil {
		return fmt.Errorf("sfu: bind address %q is not an IP address", e.cfg.BindIP)
	}
	ips := []net.IP{bind}
	if bind.IsUnspecified() {
		// A socket on 0.0.0.0 cannot tell pion which address to advertise: one socket and one
		// mux per interface address, each known to Podium's write path by its address.
		list := e.cfg.interfaces
		if list == nil {
			list = interfaceIPs
		}
		var err error
		if ips, err = list(); err != nil {
			return err
		}
	}
	e.sockets = map[netip.Addr]*udpsock.Socket{}
	var muxes []ice.UDPMux
	for _, ip := range ips {
		udps, err := e.listenUDP(ip)
		if err != nil {
			for _, m := range muxes {
				_ = m.Close()
			}
			return fmt.Errorf("sfu: media UDP port on %s: %w", ip, err)
		}
		// pion reads the sockets through Podium's read path (sfu/fastpath).
		var ins []*fastpath.Conn
		for i, udp := range udps {
			conn := udp
			if e.cfg.WrapPacketConn != nil {
				conn = e.cfg.WrapPacketConn(udp)
			}
			if i == 0 {
				if e.udpConn == nil {
					e.udpConn = udp
				}
				addr, _ := netip.AddrFromSlice(ip.To4())
				e.sockets[addr] = udpsock.New(conn) // Podium sends on the first: the port is the same
			}
			ins = append(ins, fastpath.NewConn(conn, &e.routes))
		}
		var muxConn net.PacketConn = ins[0]
		if len(ins) > 1 {
			muxConn = fastpath.NewFanIn(ins)
		}
		muxes = append(muxes, ice.NewUDPMuxDefault(ice.UDPMuxParams{Logger: logger.NewLogger("udpmux"), UDPConn: muxConn}))
	}
	if len(muxes) == 1 {
		e.udpMux = muxes[0]
	} else {
		e.udpMux = ice.NewMultiUDPMuxDefault(muxes...)
	}
	if e.cfg.TCPPort >= 0 {
		ln, err := net.Listen("tcp4", net.JoinHostPort(e.cfg.BindIP, strconv.Itoa(e.cfg.TCPPort)))
		if err != nil {
			return fmt.Errorf("sfu: ICE-TCP port: %w", err)
		}
		e.tcpLn = ln
		e.tcpMux = webrtc.NewICETCPMux(logger.NewLogger("tcpmux"), ln, 32)
	}
	return nil
}

// listenUDP opens the media sockets of one address (tests: on their virtual network).
func (e *Engine) listenUDP(ip net.IP) ([]net.PacketConn, error) {
	if e.cfg.vnet != nil {
		c, err := e.cfg.vnet.ListenPacket("udp4", net.JoinHostPort(ip.String(), strconv.Itoa(e.cfg.UDPPort)))
		if err != nil {
			return nil, err
		}
		return []net.PacketConn{c}, nil
	}
	udps, err := udpsock.ListenGroup(ip, e.cfg.UDPPort, e.cfg.UDPReaders)
	if err != nil {
		return nil, err
	}
	conns := make([]net.PacketConn, len(udps))
	for i, udp := range udps {
		if e.cfg.SocketBuffer > 0 {
			// The kernel's ~208 KiB default drops bursts (keyframes to many subscribers) at the
			// media socket; the loss then looks like congestion. Capped by net.core.{r,w}mem_max.
			_ = udp.SetReadBuffer(e.cfg.SocketBuffer)
			_ = udp.SetWriteBuffer(e.cfg.SocketBuffer)
		}
		conns[i] = udp
	}
	return conns, nil
}

func (e *Engine) settingEngine() (webrtc.SettingEngine, error) {
	var se webrtc.SettingEngine
	se.LoggerFactory = pionlog.NewFactory(e.cfg.Logger)
	if e.cfg.vnet != nil {
		se.SetNet(e.cfg.vnet)
	}
	se.SetICEUDPMux(e.udpMux)
	networks := []webrtc.NetworkType{webrtc.NetworkTypeUDP4}
	if e.tcpMux != nil {
		se.SetICETCPMux(e.tcpMux)
		networks = append(networks, webrtc.NetworkTypeTCP4)
	}
	se.SetNetworkTypes(networks)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	// Firefox probes with old packets and retransmissions arrive late: a wide replay window.
	se.SetSRTPReplayProtectionWindow(1024)
	se.SetICETimeouts(5*time.Second, 10*time.Second, 2*time.Second)
	// Podium derives the SRTP keys it sends with (see fastpath.Transport) when it is the DTLS server and
	// the suite is one it knows.
	if err := se.SetAnsweringDTLSRole(webrtc.DTLSRoleServer); err != nil {
		return se, err
	}
	se.SetDTLSCipherSuites(fastpath.DTLSSuiteIDs()...)
	bindIP := net.ParseIP(e.cfg.BindIP)
	if e.cfg.LoopbackOnly || (bindIP != nil && bindIP.IsLoopback()) {
		se.SetIncludeLoopbackCandidate(true)
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	}
	if e.cfg.LoopbackOnly {
		se.SetRemoteIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	}
	if len(e.cfg.NodeIPs) > 0 {
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External: e.cfg.NodeIPs, AsCandidateType: webrtc.ICECandidateTypeHost, Mode: webrtc.ICEAddressRewriteReplace,
		}); err != nil {
			return se, fmt.Errorf("sfu: node IP: %w", err)
		}
	}
	return se, nil
}

// videoFeedback is what every video codec offers.
var videoFeedback = []webrtc.RTCPFeedback{
	{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"}, {Type: "nack"}, {Type: "nack", Parameter: "pli"},
	{Type: webrtc.TypeRTCPFBTransportCC},
}

// codecs are exactly the codecs Podium forwards.
var codecs = []struct {
	p    webrtc.RTPCodecParameters
	kind webrtc.RTPCodecType
}{
	{webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1",
		RTCPFeedback: []webrtc.RTCPFeedback{{Type: webrtc.TypeRTCPFBTransportCC}},
	}, PayloadType: PayloadTypeOpus}, webrtc.RTPCodecTypeAudio},
	{webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: videoFeedback,
	}, PayloadType: PayloadTypeVP8}, webrtc.RTPCodecTypeVideo},
	{webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeH264, ClockRate: 90000, RTCPFeedback: videoFeedback,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
	}, PayloadType: PayloadTypeH264}, webrtc.RTPCodecTypeVideo},
}

// CodecFor is the codec Podium registers for a MIME type: what a subscriber's m-section of a
// track in that codec offers, and nothing else (SetCodecPreferences).
func CodecFor(mimeType string) (webrtc.RTPCodecParameters, bool) {
	for _, c := range codecs {
		if strings.EqualFold(c.p.MimeType, mimeType) {
			return c.p, true
		}
	}
	return webrtc.RTPCodecParameters{}, false
}

// newMediaEngine registers the codecs and header extensions Podium forwards. A subscriber
// connection's engine leaves out what only publishers send (the simulcast stream ids) and what
// Podium never reads (abs-send-time: the estimator uses transport-wide feedback). A subscriber
// offer repeats every extension in each of its m-sections, and it must fit one 64 KiB
// signalling frame (protocol.MaxMessageSize) with two m-sections per publisher.
func newMediaEngine(forSubscribers bool) (*webrtc.MediaEngine, error) {
	me := &webrtc.MediaEngine{}
	for _, c := range codecs {
		if err := me.RegisterCodec(c.p, c.kind); err != nil {
			return nil, fmt.Errorf("sfu: register %s: %w", c.p.MimeType, err)
		}
	}
	both := []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo}
	exts := []struct {
		uri         string
		kinds       []webrtc.RTPCodecType
		publishOnly bool
	}{
		{sdp.SDESMidURI, both, false},
		{sdp.SDESRTPStreamIDURI, []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo}, true},
		{sdp.SDESRepairRTPStreamIDURI, []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo}, true},
		{AudioLevelURI, []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio}, false},
		{TWCCURI, both, false},
		{AbsSendTimeURI, both, true},
	}
	for _, x := range exts {
		if x.publishOnly && forSubscribers {
			continue
		}
		for _, k := range x.kinds {
			if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: x.uri}, k); err != nil {
				return nil, fmt.Errorf("sfu: register extension %s: %w", x.uri, err)
			}
		}
	}
	return me, nil
}

// newInterceptors chooses the interceptor set. Not pion's default: its NACK responder keeps a copy
// of every packet per subscriber (Podium answers NACKs from the publisher's one packet cache) and
// its interval PLI asks publishers for keyframes nobody needs.
func (e *Engine) newInterceptors() (*interceptor.Registry, error) {
	ir := &interceptor.Registry{}
	if e.cfg.BandwidthEstimation {
		if err := e.addEstimator(ir); err != nil {
			return nil, err
		}
	}
	return e.addReportsAndFeedback(ir)
}

// addEstimator registers send-side bandwidth estimation from the subscribers' transport-wide
// feedback (Podium's estimator, sfu/bwe; pion's gcc collapsed on a capped path).
// Down tracks number their packets and, on Podium's write path, record them in the estimator
// themselves; on pion's path this interceptor records them (a ring, no allocation). Registered
// only when the estimate is used.
func (e *Engine) addEstimator(ir *interceptor.Registry) error {
	ir.Add(&bwe.InterceptorFactory{
		NewEstimator: func() *bwe.Estimator {
			return bwe.New(e.cfg.InitialBitrate, bwe.MinEstimate, e.cfg.MaxBitrate)
		},
		OnNew: func(id string, est *bwe.Estimator) { e.estimators.Store(id, est) },
	})
	return nil
}

// addReportsAndFeedback registers what publishers are told about what Podium receives:
// transport-wide feedback, NACKs and receiver reports (sfu/feedback, instead of pion's three
// interceptors). Sender reports to subscribers come from the down tracks
// (DownTrack.SenderReport): pion's sender interceptor would not see packets Podium encrypts.
func (e *Engine) addReportsAndFeedback(ir *interceptor.Registry) (*interceptor.Registry, error) {
	ir.Add(feedback.InterceptorFactory{OnNew: func(id string, u *feedback.Upstream) { e.upstreams.Store(id, u) }})
	return ir, nil
}

// pcConfig is every peer connection's: one transport for all media and RTCP.
var pcConfig = webrtc.Configuration{BundlePolicy: webrtc.BundlePolicyMaxBundle, RTCPMuxPolicy: webrtc.RTCPMuxPolicyRequire}

// NewPeerConnection creates a peer connection on the shared sockets.
func (e *Engine) NewPeerConnection() (*webrtc.PeerConnection, error) {
	if e.api == nil {
		return nil, errors.New("sfu: engine closed")
	}
	return e.api.NewPeerConnection(pcConfig)
}

// subscriberConfig does not offer RFC 9335 header-extension encryption (cryptex), which pion
// offers by default: Podium's own send path encrypts payloads only, and a connection must not
// promise what its packets will not do. Publishers may still use it: the read path decrypts it.
var subscriberConfig = func() webrtc.Configuration {
	c := pcConfig
	c.RTPHeaderEncryptionPolicy = webrtc.RTPHeaderEncryptionPolicyDisable
	return c
}()

// NewSubscriberConnection creates a peer connection that sends media, with the Transport its
// down tracks write through and its subscriber's RTCP is read by.
func (e *Engine) NewSubscriberConnection() (*webrtc.PeerConnection, *fastpath.Transport, error) {
	return e.newOwnedConnection(subscriberConfig, e.subMedia, false)
}

// NewPublisherConnection creates a peer connection that receives media, with the Transport its
// Receivers' layers are read through (ReceiverParams.Transport).
func (e *Engine) NewPublisherConnection() (*webrtc.PeerConnection, *fastpath.Transport, error) {
	return e.newOwnedConnection(pcConfig, e.media, true)
}

// NewRelayConnection is NewPublisherConnection (publisher) or NewSubscriberConnection for a
// relay to another node, on UDP sockets of its own: between two nodes' shared media ports,
// every relay connection would have the same address pair, and ICE and the route table tell
// connections apart by it. Its media takes pion's path.
func (e *Engine) NewRelayConnection(publisher bool) (*webrtc.PeerConnection, *fastpath.Transport, error) {
	if e.api == nil {
		return nil, nil, errors.New("sfu: engine closed")
	}
	se := e.settings
	se.SetICEUDPMux(nil)
	se.SetICETCPMux(nil)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	p := fastpath.Params{Socket: e.socketFor, Routes: &e.routes, Logger: e.cfg.Logger}
	media, cfg := e.subMedia, subscriberConfig
	if publisher {
		media, cfg = e.media, pcConfig
	}
	p.API = webrtc.NewAPI(webrtc.WithMediaEngine(media), webrtc.WithInterceptorRegistry(e.reg), webrtc.WithSettingEngine(se))
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
	p := fastpath.Params{Socket: e.socketFor, Routes: &e.routes, KeyFilter: e.cfg.keyFilter, Logger: e.cfg.Logger}
	se := e.settings
	if !e.cfg.DisableFastPath {
		p.Capture = &fastpath.KeyCapture{}
		p.Capture.Capture(&se)
	}
	p.API = webrtc.NewAPI(webrtc.WithMediaEngine(media), webrtc.WithInterceptorRegistry(e.reg), webrtc.WithSettingEngine(se))
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

// socketFor is the media socket a local candidate's address lives on. With one socket it is
// that one whatever the candidate says (NodeIPs rewrite candidate addresses).
func (e *Engine) socketFor(local netip.Addr) *udpsock.Socket {
	if len(e.sockets) == 1 {
		for _, s := range e.sockets {
			return s
		}
	}
	return e.sockets[local]
}

// interfaceIPs are the IPv4 addresses of the interfaces that are up, loopback only when there
// is nothing else.
func interfaceIPs() ([]net.IP, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("sfu: network interfaces: %w", err)
	}
	var ips, loopback []net.IP
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			n, ok := a.(*net.IPNet)
			if !ok || n.IP.To4() == nil || n.IP.IsLinkLocalUnicast() {
				continue
			}
			if n.IP.IsLoopback() {
				loopback = append(loopback, n.IP.To4())
			} else {
				ips = append(ips, n.IP.To4())
			}
		}
	}
	if len(ips) == 0 {
		ips = loopback
	}
	if len(ips) == 0 {
		return nil, errors.New("sfu: no IPv4 interface address to listen on")
	}
	return ips, nil
}

// Forget drops the estimator of a closed peer connection.
func (e *Engine) Forget(pc *webrtc.PeerConnection) {
	e.estimators.Delete(pc.ID())
	e.upstreams.Delete(pc.ID())
}

// UDPAddr is the media UDP address (useful when UDPPort was 0).
func (e *Engine) UDPAddr() net.Addr {
	if e.udpConn != nil {
		return e.udpConn.LocalAddr()
	}
	return nil
}

// TCPAddr is the ICE-TCP address, or nil when disabled.
func (e *Engine) TCPAddr() net.Addr {
	if e.tcpLn != nil {
		return e.tcpLn.Addr()
	}
	return nil
}

// Config returns the engine's configuration with defaults applied.
func (e *Engine) Config() Config { return e.cfg }

// Close closes the media sockets. Close every peer connection first.
func (e *Engine) Close() error {
	var errs []error
	if e.udpMux != nil {
		errs = append(errs, e.udpMux.Close())
	}
	if e.tcpMux != nil {
		errs = append(errs, e.tcpMux.Close())
	} else if e.tcpLn != nil {
		errs = append(errs, e.tcpLn.Close())
	}
	return errors.Join(errs...)
}
