package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/client/media"
	"github.com/podium-sfu/podium/client/outtrack"
	"github.com/podium-sfu/podium/client/pionapi"
	"github.com/podium-sfu/podium/protocol"
)

// PublishOptions describe a published track. The zero value plays a file once; Camera(),
// Microphone() and Screen() give looping defaults.
type PublishOptions struct {
	Source        string // protocol.Source*; default camera for video, microphone for audio
	Width, Height int    // default: from the file where it says (IVF)
	Loop          bool   // start the file again at its end
}

// Camera is the usual option for a camera file: looping.
func Camera() PublishOptions { return PublishOptions{Source: protocol.SourceCamera, Loop: true} }

// Microphone is the usual option for a microphone file: looping.
func Microphone() PublishOptions {
	return PublishOptions{Source: protocol.SourceMicrophone, Loop: true}
}

// Screen is the usual option for a screen-share file: looping.
func Screen() PublishOptions { return PublishOptions{Source: protocol.SourceScreen, Loop: true} }

// silence is the RFC 6464 level of a silent packet; files publish silence until SetAudioLevel.
const silence = 127

// LocalTrack is a published track; its goroutines stop on Unpublish or Close.
type LocalTrack struct {
	c      *Client
	mime   string
	layers []*layer
	sender *webrtc.RTPSender // set before the track starts

	req     protocol.Publish // as first published: a rejoin publishes it again
	playing bool             // the players have started (they outlive a session with rejoin)

	mu   sync.Mutex
	info protocol.TrackInfo

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

func (c *Client) newLocalTrack(mime string) *LocalTrack {
	lt := &LocalTrack{c: c, mime: mime, keyframes: make(chan struct{}, 1)}
	lt.level.Store(silence)
	lt.ctx, lt.cancel = context.WithCancel(c.rj.life) // not the session's: see Options.Rejoin
	return lt
}

// addLayer adds an encoding; src nil means the caller writes RTP.
func (lt *LocalTrack) addLayer(cid, rid string, src media.Source, loop bool) error {
	codec, kind, err := codecParams(lt.mime)
	if err != nil {
		return err
	}
	streamID := lt.c.Self().Sid
	if streamID == "" {
		streamID = "podium"
	}
	l := &layer{rid: rid}
	l.active.Store(true)
	cfg := outtrack.Config{ID: cid, StreamID: streamID, RID: rid, Kind: kind, MIME: codec.MimeType, Packetize: src != nil}
	if kind == webrtc.RTPCodecTypeAudio {
		cfg.Level = &lt.level
	}
	if src != nil {
		// Start at a keyframe whenever (re)negotiated: nothing before reached the server.
		cfg.OnBind = func() { l.play.RequestRestart(true) }
	}
	l.out = outtrack.New(cfg)
	if src != nil {
		write := func(f media.Frame, ts uint64) error {
			err := l.out.WriteFrame(f.Data, ts)
			if errors.Is(err, io.ErrClosedPipe) && lt.ctx.Err() == nil {
				return nil // the connection closed under a track that lives on (a rejoin moves it)
			}
			return err
		}
		l.play = media.NewPlayer(src, lt.c.clk, codec.ClockRate, loop, write)
	}
	lt.layers = append(lt.layers, l)
	return nil
}

// codecParams is the codec of a MIME type the client sends.
func codecParams(mime string) (webrtc.RTPCodecParameters, webrtc.RTPCodecType, error) {
	codec, kind, ok := pionapi.Codec(mime)
	if !ok {
		return codec, kind, fmt.Errorf("%w: %q", ErrUnsupportedCodec, mime)
	}
	return codec, kind, nil
}

// start runs the players (all layers share a start time), the first time only, and one RTCP
// reader per layer of the current sender, which also drives pion's NACK responder.
func (lt *LocalTrack) start() {
	start := lt.c.clk.Now()
	sender := lt.sender
	for _, l := range lt.layers {
		if l.play != nil && !lt.playing {
			lt.wg.Go(func() {
				if err := l.play.Run(lt.ctx, start); err != nil {
					lt.c.log.Warn("media file stopped", "track", lt.Sid(), "rid", l.rid, "err", err)
				}
			})
		}
		lt.wg.Go(func() { lt.readRTCP(l, sender) })
	}
	lt.playing = true
}

func (lt *LocalTrack) readRTCP(l *layer, sender *webrtc.RTPSender) {
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
				lt.keyframeRequested(l)
			}
		}
	}
}

// keyframeRequested restarts a file at its first frame (throttled), or tells the caller.
func (lt *LocalTrack) keyframeRequested(l *layer) {
	if l.play != nil {
		if l.play.RequestRestart(false) {
			lt.c.log.Debug("keyframe requested: file restarted", "track", lt.Sid(), "rid", l.rid)
		}
		return
	}
	select {
	case lt.keyframes <- struct{}{}:
	default:
	}
}

func (lt *LocalTrack) restartAll() {
	for _, l := range lt.layers {
		if l.play != nil {
			l.play.RequestRestart(true)
		}
	}
}

// applyPause pauses the layers that are muted or that nobody needs.
func (lt *LocalTrack) applyPause() {
	for _, l := range lt.layers {
		if l.play != nil {
			l.play.SetPaused(lt.muted.Load() || !l.active.Load())
		}
	}
}

func (lt *LocalTrack) setLayers(states []protocol.LayerState) {
	for _, s := range states {
		for _, l := range lt.layers {
			if l.rid != "" && l.rid == s.RID {
				l.active.Store(s.Active)
			}
		}
	}
	lt.applyPause()
}

func (lt *LocalTrack) setMuted(muted bool) {
	lt.muted.Store(muted)
	lt.mu.Lock()
	lt.info.Muted = muted
	lt.mu.Unlock()
	lt.applyPause()
}

func (lt *LocalTrack) setInfo(info protocol.TrackInfo) {
	lt.mu.Lock()
	lt.info = info
	lt.mu.Unlock()
}

// stop ends the track's goroutines; its RTCP readers end once its sender has stopped.
func (lt *LocalTrack) stop() {
	lt.cancel()
	lt.wg.Wait()
}

// Sid is the track's server id.
func (lt *LocalTrack) Sid() string { return lt.Info().Sid }

// Info is the track as the server accepted it (with Muted as this client last set it).
func (lt *LocalTrack) Info() protocol.TrackInfo {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	return lt.info
}

// SetAudioLevel sets the RFC 6464 level (0 loudest … 127 silence) written on each audio
// packet from now on: how a test scripts who speaks. Files start silent.
func (lt *LocalTrack) SetAudioLevel(level uint8) { lt.level.Store(uint32(min(level, silence))) }

// Restarts counts the times a keyframe request (PLI/FIR) restarted the file.
func (lt *LocalTrack) Restarts() int {
	n := uint64(0)
	for _, l := range lt.layers {
		if l.play != nil {
			n += l.play.Restarts()
		}
	}
	return int(n)
}

// RTPTrack is a published track whose RTP packets the caller writes.
type RTPTrack struct {
	*LocalTrack
}

// WriteRTP sends a packet with the negotiated SSRC, payload type and header extensions (the
// packet's own extensions are replaced). Packets are dropped while muted or not negotiated.
func (t *RTPTrack) WriteRTP(p *rtp.Packet) error {
	if t.muted.Load() {
		return nil
	}
	if t.ctx.Err() != nil {
		return ErrClosed
	}
	return t.layers[0].out.WriteRTP(p)
}

// KeyframeRequests signals the server's PLI/FIR for this track (coalesced, never blocks).
func (t *RTPTrack) KeyframeRequests() <-chan struct{} { return t.keyframes }

func newCID() string { return "cid-" + strconv.FormatUint(rand.Uint64(), 36) }

func defaultSource(o PublishOptions, kind string) string {
	switch {
	case o.Source != "":
		return o.Source
	case kind == protocol.KindAudio:
		return protocol.SourceMicrophone
	}
	return protocol.SourceCamera
}

// publishLayers publishes a track of one or more layers; it starts once negotiated.
func (c *Client) publishLayers(ctx context.Context, lt *LocalTrack, req protocol.Publish) (*LocalTrack, error) {
	lt.req = req
	if err := c.pub.publish(ctx, req, lt); err != nil {
		lt.cancel()
		return nil, err
	}
	return lt, nil
}

// PublishIVF publishes VP8 from an IVF file, paced by the file's timebase. ctx bounds the
// signalling; the media plays until Unpublish or Close.
func (c *Client) PublishIVF(ctx context.Context, ivf []byte, o PublishOptions) (*LocalTrack, error) {
	src, err := media.NewIVFSource(ivf)
	if err != nil {
		return nil, err
	}
	sw, sh := src.Size()
	w, h := dims(o, sw, sh)
	lt, cid := c.newLocalTrack(webrtc.MimeTypeVP8), newCID()
	if err := lt.addLayer(cid, "", src, o.Loop); err != nil {
		return nil, err
	}
	req := protocol.Publish{CID: cid, Kind: protocol.KindVideo, Source: defaultSource(o, protocol.KindVideo), Width: w, Height: h}
	return c.publishLayers(ctx, lt, req)
}

// PublishSimulcastIVF publishes three VP8 layers (rids q, h, f, lowest first) from three IVF
// files of the same pictures, as one track.
func (c *Client) PublishSimulcastIVF(ctx context.Context, q, h, f []byte, o PublishOptions) (*LocalTrack, error) {
	lt, cid := c.newLocalTrack(webrtc.MimeTypeVP8), newCID()
	req := protocol.Publish{CID: cid, Kind: protocol.KindVideo, Source: defaultSource(o, protocol.KindVideo)}
	for i, file := range [][]byte{q, h, f} {
		rid := []string{"q", "h", "f"}[i]
		src, err := media.NewIVFSource(file)
		if err != nil {
			return nil, fmt.Errorf("layer %s: %w", rid, err)
		}
		if err := lt.addLayer(cid, rid, src, o.Loop); err != nil {
			return nil, err
		}
		w, h := src.Size()
		req.Layers = append(req.Layers, protocol.Layer{RID: rid, Width: w, Height: h})
		req.Width, req.Height = dims(o, w, h)
	}
	return c.publishLayers(ctx, lt, req)
}

// PublishH264 publishes an Annex-B H.264 stream (constrained baseline) at fps frames a second.
func (c *Client) PublishH264(ctx context.Context, annexB []byte, fps int, o PublishOptions) (*LocalTrack, error) {
	src, err := media.NewH264Source(annexB, fps)
	if err != nil {
		return nil, err
	}
	lt, cid := c.newLocalTrack(webrtc.MimeTypeH264), newCID()
	if err := lt.addLayer(cid, "", src, o.Loop); err != nil {
		return nil, err
	}
	req := protocol.Publish{CID: cid, Kind: protocol.KindVideo, Source: defaultSource(o, protocol.KindVideo), Width: o.Width, Height: o.Height}
	return c.publishLayers(ctx, lt, req)
}

// PublishOgg publishes Opus from an Ogg file (one packet per page), with an audio level on
// every packet (see SetAudioLevel).
func (c *Client) PublishOgg(ctx context.Context, ogg []byte, o PublishOptions) (*LocalTrack, error) {
	src, err := media.NewOggSource(ogg)
	if err != nil {
		return nil, err
	}
	lt, cid := c.newLocalTrack(webrtc.MimeTypeOpus), newCID()
	if err := lt.addLayer(cid, "", src, o.Loop); err != nil {
		return nil, err
	}
	req := protocol.Publish{CID: cid, Kind: protocol.KindAudio, Source: defaultSource(o, protocol.KindAudio)}
	return c.publishLayers(ctx, lt, req)
}

// PublishRTP publishes a track whose packets the caller writes with WriteRTP. mime is one of
// webrtc.MimeTypeOpus, MimeTypeVP8, MimeTypeH264; kind is "audio" or "video".
func (c *Client) PublishRTP(ctx context.Context, kind, mime string, o PublishOptions) (*RTPTrack, error) {
	codec, codecKind, err := codecParams(mime)
	if err != nil {
		return nil, err
	}
	if codecKind.String() != kind {
		return nil, fmt.Errorf("%w: %s is not %s", ErrUnsupportedCodec, mime, kind)
	}
	lt, cid := c.newLocalTrack(codec.MimeType), newCID()
	if err := lt.addLayer(cid, "", nil, false); err != nil {
		return nil, err
	}
	req := protocol.Publish{CID: cid, Kind: kind, Source: defaultSource(o, kind), Width: o.Width, Height: o.Height}
	if _, err := c.publishLayers(ctx, lt, req); err != nil {
		return nil, err
	}
	return &RTPTrack{lt}, nil
}

func dims(o PublishOptions, w, h int) (int, int) {
	if o.Width > 0 && o.Height > 0 {
		return o.Width, o.Height
	}
	return w, h
}

// Unpublish stops a published track: it sends `unpublish`, removes the sender and renegotiates.
func (c *Client) Unpublish(trackSid string) error {
	lt := c.pub.track(trackSid)
	if lt == nil {
		return fmt.Errorf("%w: %s", ErrUnknownTrack, trackSid)
	}
	err := c.send(&protocol.Unpublish{ID: c.newID(), TrackSid: trackSid})
	ctx, cancel := context.WithTimeout(c.ctx, renegotiateTimeout)
	defer cancel()
	return errors.Join(err, c.pub.unpublish(ctx, lt))
}

// renegotiateTimeout bounds the renegotiation of calls that take no context.
const renegotiateTimeout = 10 * time.Second

// Mute sends `mute` and, for a track of this client, stops (or resumes, from a keyframe)
// sending its media.
func (c *Client) Mute(trackSid string, muted bool) error {
	if lt := c.pub.track(trackSid); lt != nil {
		lt.setMuted(muted)
	}
	return c.send(&protocol.Mute{ID: c.newID(), TrackSid: trackSid, Muted: muted})
}
