// Package testmedia embeds small pre-encoded media files for tests, Go test
// clients and the load tester: three VP8 simulcast layers, an H.264 stream
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
)

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
			Bitrate: bitrate,
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
// same frame indices.
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
