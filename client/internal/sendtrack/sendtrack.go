// Package sendtrack is the media side of one track the Go SDK publishes: its encodings (the
// whole track, or simulcast layers), each an outtrack fed by a file player or by the caller's
// RTP; their sender on a peer connection; the keyframe requests read from its RTCP; and the
// pauses of mute and dynacast. It knows nothing of signalling: the client decides when a track
// is attached, started, muted or stopped. A track outlives a peer connection: attached to the
// next one, its players go on and start again at a keyframe.
package sendtrack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/client/media"
	"github.com/podium-sfu/podium/client/outtrack"
	"github.com/podium-sfu/podium/client/pionapi"
)

// Silence is the RFC 6464 level of a silent packet; a track sends it until SetAudioLevel.
const Silence = 127

// ErrStopped is a write to a track that has stopped.
var ErrStopped = errors.New("client: track stopped")

// Config describes a track.
type Config struct {
	MIME     string      // webrtc.MimeTypeOpus, MimeTypeVP8 or MimeTypeH264
	StreamID string      // the msid stream: the publishing participant's sid
	Clock    media.Clock // paces the files
}

// Track is one published track's media.
type Track struct {
	cfg    Config
	codec  webrtc.RTPCodecParameters
	kind   webrtc.RTPCodecType
	layers []*layer
	sender *webrtc.RTPSender // of the connection attached last

	playing   bool // the players have started (they outlive a connection)
	level     atomic.Uint32
	muted     atomic.Bool
	keyframes chan struct{} // PLI/FIR for caller-written tracks

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// layer is one encoding: the whole track, or one simulcast layer.
type layer struct {
	rid    string
	out    *outtrack.Track
	play   *media.Player // nil when the caller writes RTP
	active atomic.Bool   // someone needs this layer (dynacast)
}

// Codec is the codec of a MIME type the client sends.
func Codec(mime string) (webrtc.RTPCodecParameters, webrtc.RTPCodecType, error) {
	codec, kind, ok := pionapi.Codec(mime)
	if !ok {
		return codec, kind, fmt.Errorf("%w: %q", media.ErrUnsupportedCodec, mime)
	}
	return codec, kind, nil
}

// New makes a track without encodings; it plays until ctx ends or Stop.
func New(ctx context.Context, cfg Config) (*Track, error) {
	codec, kind, err := Codec(cfg.MIME)
	if err != nil {
		return nil, err
	}
	if cfg.StreamID == "" {
		cfg.StreamID = "podium"
	}
	t := &Track{cfg: cfg, codec: codec, kind: kind, keyframes: make(chan struct{}, 1)}
	t.level.Store(Silence)
	t.ctx, t.cancel = context.WithCancel(ctx)
	return t, nil
}

// AddLayer adds an encoding (rid "" for a track without simulcast); src nil means the caller
// writes RTP.
func (t *Track) AddLayer(cid, rid string, src media.Source, loop bool) {
	l := &layer{rid: rid}
	l.active.Store(true)
	cfg := outtrack.Config{ID: cid, StreamID: t.cfg.StreamID, RID: rid, Kind: t.kind, MIME: t.codec.MimeType, Packetize: src != nil}
	if t.kind == webrtc.RTPCodecTypeAudio {
		cfg.Level = &t.level
	}
	if src != nil {
		// Start at a keyframe whenever (re)negotiated: nothing before reached the server.
		cfg.OnBind = func() { l.play.RequestRestart(true) }
	}
	l.out = outtrack.New(cfg)
	if src != nil {
		write := func(f media.Frame, ts uint64) error {
			err := l.out.WriteMediaFrame(f, ts)
			if errors.Is(err, io.ErrClosedPipe) && t.ctx.Err() == nil {
				return nil // the connection closed under a track that lives on (a rejoin moves it)
			}
			return err
		}
		l.play = media.NewPlayer(src, t.cfg.Clock, t.codec.ClockRate, loop, write)
	}
	t.layers = append(t.layers, l)
}

// Attach adds the track's layers to pc as one transceiver, the first layer as the base and the
// rest as encodings. The track's codec is offered first, so that a server that picks one picks
// it, but the others follow: pion offers later transceivers only what the first answer of
// each kind accepted.
func (t *Track) Attach(pc *webrtc.PeerConnection) error {
	prefs := []webrtc.RTPCodecParameters{t.codec}
	for _, mime := range []string{webrtc.MimeTypeVP8, webrtc.MimeTypeH264, webrtc.MimeTypeOpus} {
		if other, k, _ := Codec(mime); k == t.kind && mime != t.codec.MimeType {
			prefs = append(prefs, other)
		}
	}
	tr, err := pc.AddTransceiverFromTrack(t.layers[0].out,
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return fmt.Errorf("client: add track: %w", err)
	}
	fail := func(err error) error {
		_ = pc.RemoveTrack(tr.Sender())
		return fmt.Errorf("client: add track: %w", err)
	}
	if err := tr.SetCodecPreferences(prefs); err != nil {
		return fail(err)
	}
	for _, l := range t.layers[1:] {
		if err := tr.Sender().AddEncoding(l.out); err != nil {
			return fail(err)
		}
	}
	for _, l := range t.layers {
		l.out.SetTransceiver(tr)
	}
	t.sender = tr.Sender()
	return nil
}

// Detach removes the track's sender from pc (Attach's connection).
func (t *Track) Detach(pc *webrtc.PeerConnection) error { return pc.RemoveTrack(t.sender) }

// Start runs the players (all layers share a start time), the first time only, and one RTCP
// reader per layer of the current sender, which also drives pion's NACK responder. log names
// the track.
func (t *Track) Start(log *slog.Logger) {
	start := t.cfg.Clock.Now()
	sender := t.sender
	for _, l := range t.layers {
		if l.play != nil && !t.playing {
			t.wg.Go(func() {
				if err := l.play.Run(t.ctx, start); err != nil {
					log.Warn("media file stopped", "rid", l.rid, "err", err)
				}
			})
		}
		t.wg.Go(func() { t.readRTCP(l, sender, log) })
	}
	t.playing = true
}

func (t *Track) readRTCP(l *layer, sender *webrtc.RTPSender, log *slog.Logger) {
	buf := make([]byte, 1500)
	for {
		var n int
		var err error
		if l.rid == "" {
			n, _, err = sender.Read(buf)
		} else {
			n, _, err = sender.ReadSimulcast(buf, l.rid)
		}
		if err != nil {
			return // the sender stopped
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				t.keyframeRequested(l, log)
			}
		}
	}
}

// keyframeRequested restarts a file at its first frame (throttled), or tells the caller.
func (t *Track) keyframeRequested(l *layer, log *slog.Logger) {
	if l.play != nil {
		if l.play.RequestRestart(false) {
			log.Debug("keyframe requested: file restarted", "rid", l.rid)
		}
		return
	}
	select {
	case t.keyframes <- struct{}{}:
	default:
	}
}

// Restart starts every file again at its first frame, a keyframe.
func (t *Track) Restart() {
	for _, l := range t.layers {
		if l.play != nil {
			l.play.RequestRestart(true)
		}
	}
}

// applyPause pauses the layers that are muted or that nobody needs.
func (t *Track) applyPause() {
	for _, l := range t.layers {
		if l.play != nil {
			l.play.SetPaused(t.muted.Load() || !l.active.Load())
		}
	}
}

// SetLayers applies dynacast: the simulcast layers nobody needs pause until needed again.
func (t *Track) SetLayers(active map[string]bool) {
	for _, l := range t.layers {
		if a, ok := active[l.rid]; ok && l.rid != "" {
			l.active.Store(a)
		}
	}
	t.applyPause()
}

// SetMuted stops (or resumes, from a keyframe) sending media.
func (t *Track) SetMuted(muted bool) {
	t.muted.Store(muted)
	t.applyPause()
}

// Muted reports what SetMuted last set.
func (t *Track) Muted() bool { return t.muted.Load() }

// Paused reports whether layer i's file is paused (muted, or nobody needs it).
func (t *Track) Paused(i int) bool { return t.layers[i].play != nil && t.layers[i].play.Paused() }

// Cancel ends the players without waiting; the RTCP readers end when the connection closes.
func (t *Track) Cancel() { t.cancel() }

// Stop ends the track's goroutines; its RTCP readers end once its sender has stopped.
func (t *Track) Stop() {
	t.cancel()
	t.wg.Wait()
}

// SetAudioLevel sets the RFC 6464 level (0 loudest … 127 silence) of each audio packet.
func (t *Track) SetAudioLevel(level uint8) { t.level.Store(uint32(min(level, Silence))) }

// Restarts counts the times a keyframe request (PLI/FIR) restarted a file.
func (t *Track) Restarts() int {
	n := uint64(0)
	for _, l := range t.layers {
		if l.play != nil {
			n += l.play.Restarts()
		}
	}
	return int(n)
}

// WriteRTP sends a caller's packet on the first layer; dropped while muted or not negotiated.
func (t *Track) WriteRTP(p *rtp.Packet) error {
	if t.muted.Load() {
		return nil
	}
	if t.ctx.Err() != nil {
		return ErrStopped
	}
	return t.layers[0].out.WriteRTP(p)
}

// KeyframeRequests signals the server's PLI/FIR for a caller-written track (coalesced).
func (t *Track) KeyframeRequests() <-chan struct{} { return t.keyframes }
