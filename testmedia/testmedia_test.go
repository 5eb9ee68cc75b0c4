package testmedia

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/h264reader"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"

	"github.com/podium-sfu/podium/sfu/codec"
)

// frames is the number of video frames in every video fixture.
const frames = int(Duration / time.Second * FPS)

func TestFixturesTable(t *testing.T) {
	mimes := []string{webrtc.MimeTypeVP8, webrtc.MimeTypeH264, webrtc.MimeTypeOpus}
	var total int
	for _, in := range Fixtures() {
		b := File(in.Name)
		if len(b) == 0 {
			t.Errorf("%s: not embedded", in.Name)
		}
		total += len(b)
		if !slices.Contains(mimes, in.MimeType) {
			t.Errorf("%s: MIME type %q is not one of pion's", in.Name, in.MimeType)
		}
		if got, ok := Lookup(in.Name); !ok || got != in {
			t.Errorf("Lookup(%q) = %+v, %v", in.Name, got, ok)
		}
		// Encoders overshoot a little; far off means generate.sh changed.
		if bps := len(b) * 8 / int(Duration/time.Second); bps > in.Bitrate*3/2 || bps < in.Bitrate/3 {
			t.Errorf("%s: %d bit/s, target %d", in.Name, bps, in.Bitrate)
		}
	}
	// The fixtures are committed and compiled into test binaries: keep them small.
	if total > 3<<20 {
		t.Errorf("fixtures total %d bytes, over 3 MiB", total)
	}
	if File("nope.ivf") != nil {
		t.Error("File of an unknown name is not nil")
	}
	if _, ok := Lookup("nope.ivf"); ok {
		t.Error("Lookup of an unknown name succeeded")
	}
}

func TestFilesAreCopies(t *testing.T) {
	a := H264()
	a[0] ^= 0xff
	if b := H264(); b[0] == a[0] {
		t.Error("modifying a returned fixture changed the next one")
	}
}

func TestVP8ByWidth(t *testing.T) {
	q, h, f := VP8Layers()
	tests := []struct {
		width int
		want  []byte
	}{
		{320, q},
		{640, h},
		{1280, f},
		{0, nil},
		{480, nil},
		{-1, nil},
	}
	for _, tt := range tests {
		got := VP8(tt.width)
		if !bytes.Equal(got, tt.want) || (got == nil) != (tt.want == nil) {
			t.Errorf("VP8(%d): %d bytes, want %d", tt.width, len(got), len(tt.want))
		}
	}
}

// vp8Keyframes reads an IVF fixture and returns the indices of its key
// frames, checking the header, the frame count and each keyframe's size.
func vp8Keyframes(t *testing.T, in Info) []int {
	t.Helper()
	r, hdr, err := ivfreader.NewWith(bytes.NewReader(File(in.Name)))
	if err != nil {
		t.Fatalf("%s: %v", in.Name, err)
	}
	if hdr.FourCC != "VP80" || int(hdr.Width) != in.Width || int(hdr.Height) != in.Height {
		t.Errorf("%s: header %s %dx%d", in.Name, hdr.FourCC, hdr.Width, hdr.Height)
	}
	if hdr.TimebaseNumerator == 0 || int(hdr.TimebaseDenominator/hdr.TimebaseNumerator) != in.FPS {
		t.Errorf("%s: timebase %d/%d, want 1/%d", in.Name, hdr.TimebaseNumerator, hdr.TimebaseDenominator, in.FPS)
	}
	// generate.sh names the temporal structure in the header's unused bytes.
	if mode := string(File(in.Name)[28:32]); mode != ScalabilityMode {
		t.Errorf("%s: header bytes 28-31 %q, want %q", in.Name, mode, ScalabilityMode)
	}
	var keys []int
	for i := 0; ; i++ {
		frame, _, err := r.ParseNextFrame()
		if errors.Is(err, io.EOF) {
			if i != frames {
				t.Errorf("%s: %d frames, want %d", in.Name, i, frames)
			}
			return keys
		}
		if err != nil {
			t.Fatalf("%s frame %d: %v", in.Name, i, err)
		}
		if len(frame) == 0 || frame[0]&0x01 != 0 {
			if i == 0 {
				t.Errorf("%s: frame 0 is not a keyframe", in.Name)
			}
			continue
		}
		keys = append(keys, i)
		w, h, ok := codec.VP8FrameSize(frame)
		if !ok || w != in.Width || h != in.Height {
			t.Errorf("%s keyframe %d: %dx%d (ok %v), want %dx%d", in.Name, i, w, h, ok, in.Width, in.Height)
		}
	}
}

func TestVP8Layers(t *testing.T) {
	var want []int
	for i := 0; i < frames; i += KeyframeInterval {
		want = append(want, i)
	}
	for _, in := range Fixtures() {
		if in.MimeType != webrtc.MimeTypeVP8 {
			continue
		}
		t.Run(in.Name, func(t *testing.T) {
			// Equal keyframe indices in all layers let a forwarder switch
			// layers at any keyframe without waiting.
			if keys := vp8Keyframes(t, in); !slices.Equal(keys, want) {
				t.Errorf("keyframes at %v, want %v", keys, want)
			}
		})
	}
}

func TestVP8TemporalID(t *testing.T) {
	type tl struct {
		tid  uint8
		sync bool
	}
	want := map[int]tl{
		0: {0, false}, 1: {2, true}, 2: {1, true}, 3: {2, false},
		4: {0, false}, 5: {2, true}, 6: {1, true}, 7: {2, false},
		86: {1, true}, 87: {2, false}, 88: {0, false}, 89: {2, true},
		// The keyframe at 90 starts the pattern again.
		90: {0, false}, 91: {2, true}, 92: {1, true}, 93: {2, false}, 94: {0, false},
		178: {0, false}, 179: {2, true},
		// A looping player's next pass.
		180: {0, false}, 181: {2, true}, 270: {0, false},
	}
	for i, w := range want {
		if tid, sync := VP8TemporalID(i); tid != w.tid || sync != w.sync {
			t.Errorf("VP8TemporalID(%d) = %d, %v; want %d, %v", i, tid, sync, w.tid, w.sync)
		}
	}
	for i := range 3 * frames {
		tid, sync := VP8TemporalID(i)
		if int(tid) >= TemporalLayers || (tid == 0 && sync) {
			t.Errorf("VP8TemporalID(%d) = %d, %v", i, tid, sync)
		}
		if i%KeyframeInterval == 0 && tid != 0 {
			t.Errorf("keyframe %d is TL%d", i, tid)
		}
	}
}

// TestVP8TemporalLayers checks the temporal layers VP8TemporalID gives
// against what each frame of the fixtures does to the decoder's reference
// buffers, as its header says: a TL0 frame replaces LAST, a TL1 frame
// GOLDEN, a TL2 frame nothing (libvpx's pattern, see generate.sh). Which
// buffers a frame references is not in the header; decoding the fixtures
// without their upper layers is how generate.sh's settings were checked.
func TestVP8TemporalLayers(t *testing.T) {
	for _, in := range Fixtures() {
		if in.MimeType != webrtc.MimeTypeVP8 {
			continue
		}
		t.Run(in.Name, func(t *testing.T) {
			if in.TemporalLayers != TemporalLayers {
				t.Errorf("TemporalLayers %d", in.TemporalLayers)
			}
			r, _, err := ivfreader.NewWith(bytes.NewReader(File(in.Name)))
			if err != nil {
				t.Fatal(err)
			}
			var layerBytes, interBytes, interFrames [TemporalLayers]int
			for i := 0; ; i++ {
				frame, _, err := r.ParseNextFrame()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				tid, _ := VP8TemporalID(i)
				got, ok := parseVP8Refresh(frame)
				want := vp8Refresh{key: got.key, last: tid == 0, golden: tid == 1}
				if got.key {
					want.last, want.golden, want.altref = true, true, true
				}
				if !ok || got != want || (got.key && tid != 0) {
					t.Errorf("frame %d (TL%d): header %+v (ok %v), want %+v", i, tid, got, ok, want)
				}
				layerBytes[tid] += len(frame)
				if !got.key {
					interBytes[tid] += len(frame)
					interFrames[tid]++
				}
			}
			// The encoder aims at libwebrtc's split (40 %, 60 %, 100 % cumulative).
			total := layerBytes[0] + layerBytes[1] + layerBytes[2]
			tl0, tl01 := layerBytes[0]*100/total, (layerBytes[0]+layerBytes[1])*100/total
			if tl0 < 30 || tl0 > 55 || tl01 < 50 || tl01 > 75 {
				t.Errorf("TL0 %d %%, TL0+TL1 %d %% of the bytes; want about 40 and 60", tl0, tl01)
			}
			// With that split a TL0 frame gets twice the bits of a TL1 or TL2
			// frame (40 % at a quarter of the frame rate against 20 % at a
			// quarter and 40 % at half).
			var mean [TemporalLayers]int
			for l := range mean {
				mean[l] = interBytes[l] / max(1, interFrames[l])
			}
			if mean[0] < mean[1]*3/2 || mean[0] < mean[2]*3/2 {
				t.Errorf("mean inter frame sizes by layer %v: TL0 frames are not the largest", mean)
			}
		})
	}
}

func TestH264(t *testing.T) {
	in, _ := Lookup(NameH264)
	r, err := h264reader.NewReaderWithOptions(bytes.NewReader(H264()), h264reader.WithIncludeSEI(true))
	if err != nil {
		t.Fatal(err)
	}
	var types []h264reader.NalUnitType
	var idrs []int // frame indices
	frameCount := 0
	for {
		nal, err := r.NextNAL()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		// Each NAL unit on its own is a valid single-NAL RTP payload.
		isKey := nal.UnitType == h264reader.NalUnitTypeSPS || nal.UnitType == h264reader.NalUnitTypeCodedSliceIdr
		if got := codec.IsH264Keyframe(nal.Data); got != isKey {
			t.Errorf("NAL %d (%s): IsH264Keyframe = %v", len(types), nal.UnitType.String(), got)
		}
		switch nal.UnitType {
		case h264reader.NalUnitTypeSPS:
			// profile_idc, constraint flags, level_idc.
			if len(nal.Data) < 4 || nal.Data[1] != 66 || nal.Data[3] != 31 {
				t.Errorf("SPS % x: want baseline profile (66), level 3.1 (31)", nal.Data[:min(4, len(nal.Data))])
			}
		case h264reader.NalUnitTypeCodedSliceIdr:
			idrs = append(idrs, frameCount)
			// SPS and PPS directly precede every IDR.
			n := len(types)
			if n < 2 || types[n-2] != h264reader.NalUnitTypeSPS || types[n-1] != h264reader.NalUnitTypePPS {
				t.Errorf("IDR at frame %d not preceded by SPS, PPS", frameCount)
			}
			frameCount++
		case h264reader.NalUnitTypeCodedSliceNonIdr:
			frameCount++
		case h264reader.NalUnitTypePPS:
		default:
			t.Errorf("unexpected NAL unit %s", nal.UnitType.String())
		}
		types = append(types, nal.UnitType)
	}
	if len(types) < 3 || types[0] != h264reader.NalUnitTypeSPS || types[1] != h264reader.NalUnitTypePPS ||
		types[2] != h264reader.NalUnitTypeCodedSliceIdr {
		t.Errorf("stream starts %v, want SPS, PPS, IDR", types[:min(3, len(types))])
	}
	// One slice per frame (no sliced threads), so slices count frames.
	if frameCount != frames {
		t.Errorf("%d slices, want one per frame (%d)", frameCount, frames)
	}
	var want []int
	for i := 0; i < frames; i += in.KeyframeInterval {
		want = append(want, i)
	}
	if !slices.Equal(idrs, want) {
		t.Errorf("IDRs at frames %v, want %v", idrs, want)
	}
}

// opusFrameDuration returns the duration of one frame of an Opus packet from
// its TOC byte (RFC 6716, section 3.1).
func opusFrameDuration(toc byte) time.Duration {
	config := toc >> 3
	switch {
	case config < 12: // SILK-only: 10, 20, 40, 60 ms
		return [4]time.Duration{10, 20, 40, 60}[config&3] * time.Millisecond
	case config < 16: // hybrid: 10, 20 ms
		return [2]time.Duration{10, 20}[config&1] * time.Millisecond
	default: // CELT-only: 2.5, 5, 10, 20 ms
		return [4]time.Duration{2500, 5000, 10000, 20000}[config&3] * time.Microsecond
	}
}

func TestOpus(t *testing.T) {
	in, _ := Lookup(NameOpus)
	r, head, err := oggreader.NewWith(bytes.NewReader(Opus()))
	if err != nil {
		t.Fatal(err)
	}
	if int(head.SampleRate) != in.SampleRate || int(head.Channels) != in.Channels {
		t.Errorf("OpusHead: %d Hz, %d channels", head.SampleRate, head.Channels)
	}
	payload, page, err := r.ParseNextPage()
	if err != nil {
		t.Fatal(err)
	}
	if ht, ok := page.HeaderType(payload); !ok || ht != oggreader.HeaderOpusTags {
		t.Fatalf("second page is %q, want OpusTags", ht)
	}

	// Granule positions count 48 kHz samples, pre-skip included.
	const samplesPerPacket = uint64(OpusFrameDuration * 48000 / time.Second)
	var granule uint64
	pages, short := 0, 0 // short: the page that advanced less than a packet
	for {
		payload, page, err := r.ParseNextPage()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		pages++
		if len(payload) == 0 {
			t.Fatalf("page %d is empty", pages)
		}
		// Code 0 is one frame per packet; with a 20 ms frame and the page
		// advancing 20 ms, the page holds exactly one packet. The last page
		// advances less: the encoder trims its padding there.
		toc := payload[0]
		if toc&0x03 != 0 || opusFrameDuration(toc) != OpusFrameDuration {
			t.Errorf("page %d: TOC %#02x, want one %v frame", pages, toc, OpusFrameDuration)
		}
		delta := page.GranulePosition - granule
		granule = page.GranulePosition
		switch {
		case delta == samplesPerPacket:
		case delta > 0 && delta < samplesPerPacket && short == 0:
			short = pages
		default:
			t.Errorf("page %d advances %d samples, want %d", pages, delta, samplesPerPacket)
		}
	}
	if short != 0 && short != pages {
		t.Errorf("page %d of %d advances less than one packet; only the last may", short, pages)
	}
	// Covering the whole duration is enough; the trimmed tail is allowed.
	if got := time.Duration(granule-uint64(head.PreSkip)) * time.Second / 48000; got != Duration {
		t.Errorf("audio lasts %v, want %v", got, Duration)
	}
	if want := int(Duration / OpusFrameDuration); pages < want || pages > want+2 {
		t.Errorf("%d audio pages, want about %d", pages, want)
	}
}
