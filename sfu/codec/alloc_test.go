package codec

import "testing"

// The forwarding path calls these per packet: they must not allocate.
func TestNoAllocs(t *testing.T) {
	vp8 := withDescriptor([]byte{0x90, 0xf0, 0x81, 0x23, 0x42, 0xab}, vp8Key640x360())
	truncated := []byte{0x90, 0xf0, 0x81}
	h264 := stapA([]byte{0x06, 0x05}, []byte{0x68, 0xce}, []byte{0x65, 0x88})
	tests := []struct {
		name string
		fn   func()
	}{
		{"ParseVP8", func() { _, _ = ParseVP8(vp8) }},
		{"ParseVP8 error", func() { _, _ = ParseVP8(truncated) }},
		{"IsVP8Keyframe", func() { _ = IsVP8Keyframe(vp8) }},
		{"VP8KeyframeSize", func() { _, _, _ = VP8KeyframeSize(vp8) }},
		{"VP8FrameSize", func() { _, _, _ = VP8FrameSize(vp8[6:]) }},
		{"RewriteVP8PictureID", func() {
			d, _ := ParseVP8(vp8)
			RewriteVP8PictureID(vp8, d, 0x1234, 7, 3)
		}},
		{"IsH264Keyframe", func() { _ = IsH264Keyframe(h264) }},
		{"ParseAudioLevel", func() { _, _, _ = ParseAudioLevel([]byte{0x8a}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(100, tt.fn); n != 0 {
				t.Errorf("%s allocates %v times per call", tt.name, n)
			}
		})
	}
}

func BenchmarkParseVP8(b *testing.B) {
	p := withDescriptor([]byte{0x90, 0xf0, 0x81, 0x23, 0x42, 0xab}, vp8Key640x360())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseVP8(p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRewriteVP8PictureID(b *testing.B) {
	p := withDescriptor([]byte{0x90, 0xf0, 0x81, 0x23, 0x42, 0xab}, vp8Key640x360())
	d, err := ParseVP8(p)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var id uint16
	for b.Loop() {
		id++
		RewriteVP8PictureID(p, d, id, uint8(id), uint8(id))
	}
}

func BenchmarkIsH264Keyframe(b *testing.B) {
	p := stapA([]byte{0x06, 0x05}, []byte{0x68, 0xce}, []byte{0x65, 0x88})
	b.ReportAllocs()
	for b.Loop() {
		if !IsH264Keyframe(p) {
			b.Fatal("not a keyframe")
		}
	}
}
