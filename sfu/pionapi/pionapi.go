// Package pionapi builds what the server's peer connections are made of: the codecs and header
// extensions Podium forwards (a media engine for publishers, a leaner one for subscribers), the
// interceptors (Podium's estimator and publisher feedback instead of pion's defaults), the
// setting engine (ICE, the DTLS role and suites, the SRTP replay window, candidate filters and
// rewrites) and the media ports under it: one UDP port on each address, a SO_REUSEPORT group
// of sockets each read by a fastpath.Conn, and ICE-TCP. Package sfu's Engine makes connections
// of these parts; this package knows nothing of tracks.
package pionapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
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
	// Publishers' RTX for VP8 and H.264 (publisherRTX).
	PayloadTypeVP8RTX  = 97
	PayloadTypeH264RTX = 103
)

// Config says what to build. Package sfu's Config, with its defaults applied, fills it.
type Config struct {
	BindIP           string // an IP address; unspecified: one port on each interface address
	UDPPort, TCPPort int    // 0: a free port; TCPPort -1: no ICE-TCP
	UDPReaders       int    // sockets sharing the UDP port on each address (at least 1)
	SocketBuffer     int    // the sockets' kernel buffers (bytes); 0 or negative: the system's
	NodeIPs          []string
	LoopbackOnly     bool
	// WrapPacketConn wraps each UDP socket (tests inject loss and delay with it).
	WrapPacketConn func(net.PacketConn) net.PacketConn
	// Routes is the table the sockets' readers find a client's connection in.
	Routes *fastpath.Routes
	// BandwidthEstimation registers the send-side estimator, bounded by InitialBitrate and
	// MaxBitrate; OnEstimator receives each connection's (by peer connection id).
	BandwidthEstimation        bool
	InitialBitrate, MaxBitrate int
	OnEstimator                func(pcID string, est *bwe.Estimator)
	// OnUpstream receives each connection's feedback to its publisher.
	OnUpstream func(pcID string, u *feedback.Upstream)
	Logger     *slog.Logger
	// Interfaces are the addresses an unspecified BindIP means (nil: the host's).
	Interfaces func() ([]net.IP, error)
	// Net is pion's virtual network instead of the host's (tests; UDP only).
	Net transport.Net
}

// Base is what every connection's webrtc.API is made of.
type Base struct {
	Media           *webrtc.MediaEngine // publishers'
	SubscriberMedia *webrtc.MediaEngine // subscribers': fewer header extensions
	Interceptors    *interceptor.Registry
	Settings        webrtc.SettingEngine

	udpConn net.PacketConn
	sockets map[netip.Addr]*udpsock.Socket // the sockets pion's ICE sends on (wrapped in tests), by address
	udpMux  ice.UDPMux
	tcpLn   net.Listener
	tcpMux  ice.TCPMux
}

// New opens the media ports and builds the rest on them.
func New(cfg Config) (*Base, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	b := &Base{}
	if err := b.listen(cfg); err != nil {
		b.Close()
		return nil, err
	}
	var err error
	if b.Media, err = newMediaEngine(false); err == nil {
		if b.SubscriberMedia, err = newMediaEngine(true); err == nil {
			b.Interceptors = newInterceptors(cfg)
			b.Settings, err = b.settingEngine(cfg)
		}
	}
	if err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// PeerConnection is every peer connection's configuration: one transport for all media and RTCP.
var PeerConnection = webrtc.Configuration{BundlePolicy: webrtc.BundlePolicyMaxBundle, RTCPMuxPolicy: webrtc.RTCPMuxPolicyRequire}

// SubscriberConnection does not offer RFC 9335 header-extension encryption (cryptex), which pion
// offers by default: Podium's own send path encrypts payloads only, and a connection must not
// promise what its packets will not do. Publishers may still use it: the read path decrypts it.
var SubscriberConnection = func() webrtc.Configuration {
	c := PeerConnection
	c.RTPHeaderEncryptionPolicy = webrtc.RTPHeaderEncryptionPolicyDisable
	return c
}()

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

// publisherRTX is RTX (RFC 4588) for each video codec, offered to publishers only. Chromium pads
// its bandwidth probes on the RTX stream; without it, it can pad only on a media SSRC after a
// frame's last packet, and a probe sent before the top layer's first frame measured little and
// set its send estimate to that: 1 Mbps fell to 400-600 kbps as the top layer started, and the
// layer waited 10 s for the estimate to creep back (issue 21). Pion's receiver unwraps the RTX
// stream (sfu.Receiver forwards the resends and drops the probes' copies); down tracks resend
// on the media SSRC, so subscribers are offered no RTX.
var publisherRTX = []webrtc.RTPCodecParameters{
	{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeRTX, ClockRate: 90000,
		SDPFmtpLine: fmt.Sprintf("apt=%d", PayloadTypeVP8)}, PayloadType: PayloadTypeVP8RTX},
	{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeRTX, ClockRate: 90000,
		SDPFmtpLine: fmt.Sprintf("apt=%d", PayloadTypeH264)}, PayloadType: PayloadTypeH264RTX},
}

// CodecFor is the codec Podium registers for a MIME type.
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
	if !forSubscribers {
		for _, r := range publisherRTX {
			if err := me.RegisterCodec(r, webrtc.RTPCodecTypeVideo); err != nil {
				return nil, fmt.Errorf("sfu: register rtx for %s: %w", r.SDPFmtpLine, err)
			}
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
		{sdp.AudioLevelURI, []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio}, false},
		{sdp.TransportCCURI, both, false},
		{sdp.ABSSendTimeURI, both, true},
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

// newInterceptors chooses the interceptor set. Not pion's default: its NACK responder keeps a
// copy of every packet per subscriber (Podium answers NACKs from the publisher's one packet
// cache) and its interval PLI asks publishers for keyframes nobody needs.
//
// With BandwidthEstimation, first the send-side estimator over the subscribers' transport-wide
// feedback (Podium's, sfu/bwe; pion's gcc collapsed on a capped path): down tracks number their
// packets and, on Podium's write path, record them in the estimator themselves; on pion's path
// this interceptor records them (a ring, no allocation). Then what publishers are told about what
// Podium receives: transport-wide feedback, NACKs and receiver reports (sfu/feedback, instead of
// pion's three interceptors). Sender reports to subscribers come from the down tracks: pion's
// sender interceptor would not see packets Podium encrypts.
func newInterceptors(cfg Config) *interceptor.Registry {
	ir := &interceptor.Registry{}
	if cfg.BandwidthEstimation {
		ir.Add(&bwe.InterceptorFactory{
			NewEstimator: func() *bwe.Estimator {
				return bwe.New(cfg.InitialBitrate, bwe.MinEstimate, cfg.MaxBitrate)
			},
			OnNew: func(id string, est *bwe.Estimator) {
				if cfg.OnEstimator != nil {
					cfg.OnEstimator(id, est)
				}
			},
		})
	}
	ir.Add(feedback.InterceptorFactory{OnNew: func(id string, u *feedback.Upstream) {
		if cfg.OnUpstream != nil {
			cfg.OnUpstream(id, u)
		}
	}})
	return ir
}

func (b *Base) settingEngine(cfg Config) (webrtc.SettingEngine, error) {
	var se webrtc.SettingEngine
	se.LoggerFactory = pionlog.NewFactory(cfg.Logger)
	if cfg.Net != nil {
		se.SetNet(cfg.Net)
	}
	se.SetICEUDPMux(b.udpMux)
	networks := []webrtc.NetworkType{webrtc.NetworkTypeUDP4}
	if b.tcpMux != nil {
		se.SetICETCPMux(b.tcpMux)
		networks = append(networks, webrtc.NetworkTypeTCP4)
	}
	se.SetNetworkTypes(networks)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	// Firefox probes with old packets and retransmissions arrive late: a wide replay window.
	se.SetSRTPReplayProtectionWindow(1024)
	se.SetICETimeouts(5*time.Second, 10*time.Second, 2*time.Second)
	// Podium derives the SRTP keys it sends with (see fastpath.Transport) when it is the DTLS
	// server and the suite is one it knows.
	if err := se.SetAnsweringDTLSRole(webrtc.DTLSRoleServer); err != nil {
		return se, err
	}
	se.SetDTLSCipherSuites(fastpath.DTLSSuiteIDs()...)
	bindIP := net.ParseIP(cfg.BindIP)
	if cfg.LoopbackOnly || (bindIP != nil && bindIP.IsLoopback()) {
		se.SetIncludeLoopbackCandidate(true)
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	}
	if cfg.LoopbackOnly {
		se.SetRemoteIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	}
	if len(cfg.NodeIPs) > 0 {
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External: cfg.NodeIPs, AsCandidateType: webrtc.ICECandidateTypeHost, Mode: webrtc.ICEAddressRewriteReplace,
		}); err != nil {
			return se, fmt.Errorf("sfu: node IP: %w", err)
		}
	}
	return se, nil
}

// Close closes the media ports. Close every peer connection first.
func (b *Base) Close() error {
	var errs []error
	if b.udpMux != nil {
		errs = append(errs, b.udpMux.Close())
	}
	if b.tcpMux != nil {
		errs = append(errs, b.tcpMux.Close())
	} else if b.tcpLn != nil {
		errs = append(errs, b.tcpLn.Close())
	}
	return errors.Join(errs...)
}
