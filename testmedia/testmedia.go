// Package testmedia embeds small pre-encoded media files for tests, Go test
// clients and the load tester: three VP8 simulcast layers (each with three
// temporal layers, as Chrome sends them), an H.264 stream
// and an Opus stream, all synthetic (ffmpeg's testsrc2 and sine) and all
// 6 seconds long. generate.sh regenerates them; see README.md.
//
// Every accessor returns a fresh copy, so callers may modify what they get.
package testmedia

import (
	"embed"
	"time"
)

//go:embed *.ivf *.h264 *.ogg
var files embed.FS

// Properties shared by the fixtures; generate.sh must agree with them.
const (
	// Duration is the length of every fixture.
	Duration = 6 * time.Second
	// FPS is the frame rate of every video fixture.
	FPS = 30
	// KeyframeInterval is the number of frames from one keyframe to the
	// next in every video fixture; frame 0 is a keyframe.
	KeyframeInterval = 90
	// OpusFrameDuration is the duration of each Opus packet (one per page).
	OpusFrameDuration = 20 * time.Millisecond

	// TemporalLayers is the number of temporal layers in every VP8 fixture;
	// VP8TemporalID gives each frame's.
	TemporalLayers = 3
	// ScalabilityMode names the VP8 fixtures' structure as WebRTC does
	// (W3C webrtc-svc): one spatial layer, three temporal layers. Each VP8
	// fixture carries it in the unused bytes 28-31 of its IVF header, from
	// which the Go SDK's IVF source learns the frames' temporal layers.
	ScalabilityMode = "L1T3"
)

// temporalPeriod is libvpx's three-layer pattern: the temporal layer and the
// layer sync bit of each frame of a four-frame period, which starts again at
// every keyframe. Positions 1 and 2 reference only the TL0 frame before them;
// position 3 references the TL1 frame at position 2. See generate.sh.
var temporalPeriod = [4]struct {
	tid  uint8
	sync bool
}{{0, false}, {2, true}, {1, true}, {2, false}}

// VP8TemporalID gives the temporal layer (TID) of frame frameIndex of any VP8
// fixture, and its layer sync bit (Y in the VP8 payload descriptor, RFC 7741):
// whether the frame references only TL0 frames since the last TL0 frame, so
// that a receiver forwarding fewer layers may add the frame's layer from it.
//
// The layers follow the pattern 0, 2, 1, 2, which starts again at every
// keyframe (frames 0 and 90): frame 90 is TL0, frame 89 TL2. A frame of layer t
// references only frames of layers up to t, so leaving out every frame above
// a layer leaves a stream that decodes. TL0 frames, keyframes included, have
// Y=0. frameIndex counts from 0 at the first frame; indices past the end
// continue into the next pass of a looping player, since the file length is
// a multiple of KeyframeInterval.
func VP8TemporalID(frameIndex int) (tid uint8, layerSync bool) {
	i := frameIndex % KeyframeInterval
	if i < 0 {
		i += KeyframeInterval
	}
	p := temporalPeriod[i%len(temporalPeriod)]
	return p.tid, p.sync
}

// File names of the fixtures.
const (
	NameVP8Q = "vp8-320x180.ivf"
	NameVP8H = "vp8-640x360.ivf"
	NameVP8F = "vp8-1280x720.ivf"
	NameH264 = "h264-640x360.h264"
	NameOpus = "opus-48k.ogg"
)

// Info describes one fixture.
type Info struct {
	Name      string // file name, as accepted by File
	MimeType  string // as in pion's webrtc.MimeType* constants
	Container string // "ivf", "annexb" or "ogg"

	// Video only.
	Width, Height, FPS int
	KeyframeInterval   int // frames
	TemporalLayers     int // VP8 only: see VP8TemporalID; 0 for none

	// Audio only.
	SampleRate, Channels int

	Bitrate int // encoder target, bits per second
}

// Fixtures describes every fixture: the VP8 layers from lowest to highest,
// then H.264, then Opus.
func Fixtures() []Info {
	vp8 := func(name string, w, h, bitrate int) Info {
		return Info{
			Name: name, MimeType: "video/VP8", Container: "ivf",
			Width: w, Height: h, FPS: FPS, KeyframeInterval: KeyframeInterval,
			TemporalLayers: TemporalLayers, Bitrate: bitrate,
		}
	}
	return []Info{
		vp8(NameVP8Q, 320, 180, 150_000),
		vp8(NameVP8H, 640, 360, 450_000),
		vp8(NameVP8F, 1280, 720, 1_200_000),
		{
			Name: NameH264, MimeType: "video/H264", Container: "annexb",
			Width: 640, Height: 360, FPS: FPS, KeyframeInterval: KeyframeInterval,
			Bitrate: 450_000,
		},
		{
			Name: NameOpus, MimeType: "audio/opus", Container: "ogg",
			SampleRate: 48000, Channels: 2, Bitrate: 32_000,
		},
	}
}

// Lookup returns the description of the named fixture.
func Lookup(name string) (Info, bool) {
	for _, in := range Fixtures() {
		if in.Name == name {
			return in, true
		}
	}
	return Info{}, false
}

// File returns a copy of the named fixture, or nil if there is none.
func File(name string) []byte {
	if _, ok := Lookup(name); !ok {
		return nil
	}
	b, err := files.ReadFile(name)
	if err != nil {
		// Unreachable: every fixture listed is embedded, which the build
		// itself enforces through the go:embed patterns and the tests check.
		return nil
	}
	return b
}

// VP8Layers returns the three VP8 simulcast layers (IVF): q is 320x180, h
// 640x360 and f 1280x720. They hold the same pictures with keyframes at the
// same frame indices, and the same temporal layers (VP8TemporalID).
func VP8Layers() (q, h, f []byte) {
	return File(NameVP8Q), File(NameVP8H), File(NameVP8F)
}

// VP8 returns the VP8 layer (IVF) of the given width (320, 640 or 1280), or
// nil for any other width.
func VP8(width int) []byte {
	for _, in := range Fixtures() {
		if in.MimeType == "video/VP8" && in.Width == width {
			return File(in.Name)
		}
	}
	return nil
}

// H264 returns the 640x360 Annex-B H.264 stream: constrained baseline, one
// slice per frame, SPS and PPS before every IDR, no SEI.
func H264() []byte { return File(NameH264) }

// Opus returns the 48 kHz stereo Opus stream in Ogg, one 20 ms packet per
// page after the OpusHead and OpusTags pages.
func Opus() []byte { return File(NameOpus) }
