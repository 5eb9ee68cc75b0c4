// Package pionapi builds the pion API of the Go SDK's peer connections: the server's codecs and
// header extensions, pion's interceptors (or the socket-stamped congestion feedback of package
// arrivals), the network and ICE settings, and pion's logs routed to slog.
package pionapi

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/interceptor/pkg/stats"
	"github.com/pion/logging"
	"github.com/pion/sdp/v3"
	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/client/arrivals"
)

// Payload types, the same as the server's, so that both peer connections carry predictable SDP.
const (
	ptVP8  = 96
	ptH264 = 102
	ptOpus = 111
)

// h264Fmtp is constrained baseline, packetization-mode 1: what the server forwards.
const h264Fmtp = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"

func videoFeedback() []webrtc.RTCPFeedback {
	return []webrtc.RTCPFeedback{
		{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"},
		{Type: webrtc.TypeRTCPFBTransportCC},
	}
}

// Codec returns the codec registered for a MIME type (case-insensitive); false: none is.
func Codec(mime string) (webrtc.RTPCodecParameters, webrtc.RTPCodecType, bool) {
	switch strings.ToLower(mime) {
	case strings.ToLower(webrtc.MimeTypeOpus):
		return webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{
				MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
				SDPFmtpLine:  "minptime=10;useinbandfec=1",
				RTCPFeedback: []webrtc.RTCPFeedback{{Type: webrtc.TypeRTCPFBTransportCC}},
			},
			PayloadType: ptOpus,
		}, webrtc.RTPCodecTypeAudio, true
	case strings.ToLower(webrtc.MimeTypeVP8):
		return webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{
				MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: videoFeedback(),
			},
			PayloadType: ptVP8,
		}, webrtc.RTPCodecTypeVideo, true
	case strings.ToLower(webrtc.MimeTypeH264):
		return webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{
				MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: h264Fmtp,
				RTCPFeedback: videoFeedback(),
			},
			PayloadType: ptH264,
		}, webrtc.RTPCodecTypeVideo, true
	}
	return webrtc.RTPCodecParameters{}, 0, false
}

// Config is what a client's options ask of its connections.
type Config struct {
	Logger        *slog.Logger
	Loopback      bool          // ICE on 127.0.0.1 only (LoopbackOnly)
	Net           transport.Net // nil: the host's
	SettingEngine func(*webrtc.SettingEngine)
	// Arrivals is the subscriber connection's congestion feedback, stamped at its sockets;
	// nil (the publisher connection): pion's.
	Arrivals *arrivals.Recorder
}

// New builds the pion API of one peer connection: the server's codecs and header
// extensions, pion's NACK, report and stats interceptors, and TWCC sequence numbers on what the
// client sends, so that the server's bandwidth estimation sees the client like a browser. The
// transport-wide feedback on what it receives is c.Arrivals' when set, else pion's.
func New(c Config) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	for _, mime := range []string{webrtc.MimeTypeOpus, webrtc.MimeTypeVP8, webrtc.MimeTypeH264} {
		p, kind, _ := Codec(mime)
		if err := m.RegisterCodec(p, kind); err != nil {
			return nil, err
		}
	}
	// Registration order fixes the extension IDs (1, 2, …): keep the server's order.
	exts := []struct {
		uri   string
		kinds []webrtc.RTPCodecType
	}{
		{sdp.SDESMidURI, []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo}},
		{sdp.SDESRTPStreamIDURI, []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo}},
		{sdp.SDESRepairRTPStreamIDURI, []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo}},
		{sdp.AudioLevelURI, []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio}},
		{sdp.TransportCCURI, []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo}},
		{sdp.ABSSendTimeURI, []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo}},
	}
	for _, e := range exts {
		for _, k := range e.kinds {
			if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: e.uri}, k); err != nil {
				return nil, err
			}
		}
	}
	reg := &interceptor.Registry{}
	if err := registerInterceptors(m, reg, pionLoggerFactory{c.Logger}, c.Arrivals); err != nil {
		return nil, err
	}
	if err := webrtc.ConfigureTWCCHeaderExtensionSender(m, reg); err != nil {
		return nil, err
	}
	se, err := newSettingEngine(c)
	if err != nil {
		return nil, err
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg),
		webrtc.WithSettingEngine(se)), nil
}

// maxNACKsPerPacket bounds how often a missing packet is asked for (pion's default: until it
// comes or its log wraps). At pion's 100 ms interval, ten asks cover a second, longer than any
// jitter buffer waits; a packet the server cannot resend is not asked for again and again.
const maxNACKsPerPacket = 10

// nackGeneratorOptions configure pion's NACK generator.
func nackGeneratorOptions(lf logging.LoggerFactory) []nack.GeneratorOption {
	return []nack.GeneratorOption{nack.WithGeneratorLoggerFactory(lf), nack.GeneratorMaxNacksPerPacket(maxNACKsPerPacket)}
}

// registerInterceptors registers pion's default interceptors, with a instead of pion's
// transport-wide feedback when a is not nil.
func registerInterceptors(m *webrtc.MediaEngine, reg *interceptor.Registry, lf logging.LoggerFactory, a *arrivals.Recorder) error {
	if a == nil {
		return webrtc.RegisterDefaultInterceptorsWithOptions(m, reg, webrtc.WithInterceptorLoggerFactory(lf))
	}
	if err := webrtc.ConfigureNackWithOptions(m, reg, nackGeneratorOptions(lf), nack.WithResponderLoggerFactory(lf)); err != nil {
		return err
	}
	if err := webrtc.ConfigureRTCPReportsWithOptions(reg, []report.ReceiverOption{report.WithReceiverLoggerFactory(lf)},
		report.WithSenderLoggerFactory(lf)); err != nil {
		return err
	}
	if err := webrtc.ConfigureSimulcastExtensionHeaders(m); err != nil {
		return err
	}
	if err := webrtc.ConfigureStatsInterceptorWithOptions(reg, stats.WithLoggerFactory(lf)); err != nil {
		return err
	}
	reg.Add(a)
	return nil
}

// newSettingEngine applies Loopback, the network (Net, stamping arrivals when Arrivals is set)
// and SettingEngine, in that order.
func newSettingEngine(c Config) (webrtc.SettingEngine, error) {
	se := webrtc.SettingEngine{LoggerFactory: pionLoggerFactory{c.Logger}}
	if c.Loopback {
		LoopbackOnly(&se)
	}
	n := c.Net
	if c.Arrivals != nil {
		if n == nil {
			host, err := stdnet.NewNet()
			if err != nil {
				return se, err
			}
			n = host
		}
		n = c.Arrivals.Net(n)
	}
	if n != nil {
		se.SetNet(n)
	}
	if c.SettingEngine != nil {
		c.SettingEngine(&se)
	}
	return se, nil
}

// LoopbackOnly restricts ICE to IPv4 UDP host candidates on 127.0.0.1, with mDNS off: what tests
// on a machine with other interfaces need so that no candidate leaves the loopback interface.
func LoopbackOnly(se *webrtc.SettingEngine) {
	loopback := func(ip net.IP) bool { return ip.IsLoopback() }
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetIPFilter(loopback)
	se.SetRemoteIPFilter(loopback)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
}

// pionLoggerFactory routes pion's logs to slog. pion's Info level is chatty (every state
// change), so it goes to Debug; Trace goes below Debug.
type pionLoggerFactory struct{ log *slog.Logger }

func (f pionLoggerFactory) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{f.log.With("pion", scope)}
}

const levelTrace = slog.LevelDebug - 4

type pionLogger struct{ log *slog.Logger }

func (l pionLogger) logf(level slog.Level, format string, args ...any) {
	ctx := context.Background()
	if !l.log.Enabled(ctx, level) {
		return
	}
	l.log.Log(ctx, level, fmt.Sprintf(format, args...))
}

func (l pionLogger) Trace(msg string)                  { l.logf(levelTrace, "%s", msg) }
func (l pionLogger) Tracef(format string, args ...any) { l.logf(levelTrace, format, args...) }
func (l pionLogger) Debug(msg string)                  { l.logf(slog.LevelDebug, "%s", msg) }
func (l pionLogger) Debugf(format string, args ...any) { l.logf(slog.LevelDebug, format, args...) }
func (l pionLogger) Info(msg string)                   { l.logf(slog.LevelDebug, "%s", msg) }
func (l pionLogger) Infof(format string, args ...any)  { l.logf(slog.LevelDebug, format, args...) }
func (l pionLogger) Warn(msg string)                   { l.logf(slog.LevelWarn, "%s", msg) }
func (l pionLogger) Warnf(format string, args ...any)  { l.logf(slog.LevelWarn, format, args...) }
func (l pionLogger) Error(msg string)                  { l.logf(slog.LevelError, "%s", msg) }
func (l pionLogger) Errorf(format string, args ...any) { l.logf(slog.LevelError, format, args...) }
