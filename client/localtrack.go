package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/client/internal/sendtrack"
	"github.com/podium-sfu/podium/client/media"
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

// LocalTrack is a published track; its goroutines stop on Unpublish or Close.
type LocalTrack struct {
	c    *Client
	send *sendtrack.Track // the media (internal/sendtrack)
	req  protocol.Publish // as first published: a rejoin publishes it again

	mu   sync.Mutex
	info protocol.TrackInfo
}

func (c *Client) newLocalTrack(mime string) (*LocalTrack, error) {
	// The track's life is the Client's, not the session's: see Options.Rejoin.
	send, err := sendtrack.New(c.rj.life, sendtrack.Config{MIME: mime, StreamID: c.Self().Sid, Clock: c.clk})
	if err != nil {
		return nil, err
	}
	return &LocalTrack{c: c, send: send}, nil
}

func (lt *LocalTrack) setMuted(muted bool) {
	lt.send.SetMuted(muted)
	lt.mu.Lock()
	lt.info.Muted = muted
	lt.mu.Unlock()
}

func (lt *LocalTrack) setInfo(info protocol.TrackInfo) {
	lt.mu.Lock()
	lt.info = info
	lt.mu.Unlock()
}

// stop ends the track's goroutines; its RTCP readers end once its sender has stopped.
func (lt *LocalTrack) stop() { lt.send.Stop() }

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
func (lt *LocalTrack) SetAudioLevel(level uint8) { lt.send.SetAudioLevel(level) }

// Restarts counts the times a keyframe request (PLI/FIR) restarted the file.
func (lt *LocalTrack) Restarts() int { return lt.send.Restarts() }

// RTPTrack is a published track whose RTP packets the caller writes.
type RTPTrack struct {
	*LocalTrack
}

// WriteRTP sends a packet with the negotiated SSRC, payload type and header extensions (the
// packet's own extensions are replaced). Packets are dropped while muted or not negotiated.
func (t *RTPTrack) WriteRTP(p *rtp.Packet) error {
	err := t.send.WriteRTP(p)
	if errors.Is(err, sendtrack.ErrStopped) {
		return ErrClosed
	}
	return err
}

// KeyframeRequests signals the server's PLI/FIR for this track (coalesced, never blocks).
func (t *RTPTrack) KeyframeRequests() <-chan struct{} { return t.send.KeyframeRequests() }

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
		lt.send.Cancel()
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
	lt, err := c.newLocalTrack(webrtc.MimeTypeVP8)
	if err != nil {
		return nil, err
	}
	cid := newCID()
	lt.send.AddLayer(cid, "", src, o.Loop)
	req := protocol.Publish{CID: cid, Kind: protocol.KindVideo, Source: defaultSource(o, protocol.KindVideo), Width: w, Height: h}
	return c.publishLayers(ctx, lt, req)
}

// PublishSimulcastIVF publishes three VP8 layers (rids q, h, f, lowest first) from three IVF
// files of the same pictures, as one track.
func (c *Client) PublishSimulcastIVF(ctx context.Context, q, h, f []byte, o PublishOptions) (*LocalTrack, error) {
	lt, err := c.newLocalTrack(webrtc.MimeTypeVP8)
	if err != nil {
		return nil, err
	}
	cid := newCID()
	req := protocol.Publish{CID: cid, Kind: protocol.KindVideo, Source: defaultSource(o, protocol.KindVideo)}
	for i, file := range [][]byte{q, h, f} {
		rid := []string{"q", "h", "f"}[i]
		src, err := media.NewIVFSource(file)
		if err != nil {
			return nil, fmt.Errorf("layer %s: %w", rid, err)
		}
		lt.send.AddLayer(cid, rid, src, o.Loop)
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
	lt, err := c.newLocalTrack(webrtc.MimeTypeH264)
	if err != nil {
		return nil, err
	}
	cid := newCID()
	lt.send.AddLayer(cid, "", src, o.Loop)
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
	lt, err := c.newLocalTrack(webrtc.MimeTypeOpus)
	if err != nil {
		return nil, err
	}
	cid := newCID()
	lt.send.AddLayer(cid, "", src, o.Loop)
	req := protocol.Publish{CID: cid, Kind: protocol.KindAudio, Source: defaultSource(o, protocol.KindAudio)}
	return c.publishLayers(ctx, lt, req)
}

// PublishRTP publishes a track whose packets the caller writes with WriteRTP. mime is one of
// webrtc.MimeTypeOpus, MimeTypeVP8, MimeTypeH264; kind is "audio" or "video".
func (c *Client) PublishRTP(ctx context.Context, kind, mime string, o PublishOptions) (*RTPTrack, error) {
	codec, codecKind, err := sendtrack.Codec(mime)
	if err != nil {
		return nil, err
	}
	if codecKind.String() != kind {
		return nil, fmt.Errorf("%w: %s is not %s", ErrUnsupportedCodec, mime, kind)
	}
	lt, err := c.newLocalTrack(codec.MimeType)
	if err != nil {
		return nil, err
	}
	cid := newCID()
	lt.send.AddLayer(cid, "", nil, false)
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
