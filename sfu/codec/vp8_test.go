package codec

import (
	"bytes"
	"errors"
	"testing"

	"github.com/pion/rtp/codecs"
)

// vp8Key640x360 returns the start of a VP8 key frame bitstream: frame tag
// (P=0), start code and 640x360 with the horizontal scale bits set to 1,
// which must be dropped. A function, so no test can modify a shared copy.
func vp8Key640x360() []byte {
	return []byte{0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x42, 0x68, 0x01, 0xaa}
}

// withDescriptor prepends an RTP payload descriptor to a bitstream.
func withDescriptor(desc []byte, bitstream []byte) []byte {
	return append(append([]byte{}, desc...), bitstream...)
}

func TestParseVP8(t *testing.T) {
	tests := []struct {
		name    string
		payload []byte
		want    VP8Descriptor
		wantErr error
	}{
		{
			name:    "minimal keyframe start",
			payload: []byte{0x10, 0x00},
			want:    VP8Descriptor{HeaderSize: 1, StartOfPartition: true, IsKeyframe: true},
		},
		{
			name:    "minimal interframe start",
			payload: []byte{0x10, 0x01},
			want:    VP8Descriptor{HeaderSize: 1, StartOfPartition: true},
		},
		{
			name:    "continuation packet is never a keyframe",
			payload: []byte{0x00, 0x00},
			want:    VP8Descriptor{HeaderSize: 1},
		},
		{
			name:    "start of partition 1 is not a keyframe",
			payload: []byte{0x11, 0x00},
			want:    VP8Descriptor{HeaderSize: 1, StartOfPartition: true, PartitionID: 1},
		},
		{
			name:    "reserved bit ignored, partition id 7, non-reference",
			payload: []byte{0x3f, 0x00},
			want:    VP8Descriptor{HeaderSize: 1, NonReference: true, StartOfPartition: true, PartitionID: 7},
		},
		{
			name:    "X set with no optional fields",
			payload: []byte{0x90, 0x00, 0x00},
			want:    VP8Descriptor{HeaderSize: 2, StartOfPartition: true, IsKeyframe: true},
		},
		{
			name:    "7-bit picture id",
			payload: []byte{0x90, 0x80, 0x7f, 0x01},
			want: VP8Descriptor{
				HeaderSize: 3, StartOfPartition: true,
				HasPictureID: true, PictureID: 0x7f, PictureIDOffset: 2,
			},
		},
		{
			name:    "15-bit picture id keyframe",
			payload: withDescriptor([]byte{0x90, 0x80, 0xab, 0xcd}, vp8Key640x360()),
			want: VP8Descriptor{
				HeaderSize: 4, StartOfPartition: true,
				HasPictureID: true, PictureID: 0x2bcd, PictureIDWide: true, PictureIDOffset: 2,
				IsKeyframe: true,
			},
		},
		{
			name: "15-bit picture id, TL0PICIDX, TID, Y and KEYIDX",
			// T/K byte 0xab = TID 2, Y 1, KEYIDX 11.
			payload: []byte{0x90, 0xf0, 0x81, 0x23, 0x42, 0xab, 0x01},
			want: VP8Descriptor{
				HeaderSize: 6, StartOfPartition: true,
				HasPictureID: true, PictureID: 0x0123, PictureIDWide: true, PictureIDOffset: 2,
				HasTL0PICIDX: true, TL0PICIDX: 0x42, TL0PICIDXOffset: 4,
				HasTID: true, TID: 2, LayerSync: true,
				HasKEYIDX: true, KEYIDX: 11, TIDKEYIDXOffset: 5,
			},
		},
		{
			name:    "7-bit picture id and TL0PICIDX",
			payload: []byte{0x80, 0xc0, 0x05, 0x09, 0x00},
			want: VP8Descriptor{
				HeaderSize:   4,
				HasPictureID: true, PictureID: 5, PictureIDOffset: 2,
				HasTL0PICIDX: true, TL0PICIDX: 9, TL0PICIDXOffset: 3,
			},
		},
		{
			name:    "KEYIDX only ignores TID bits",
			payload: []byte{0x90, 0x10, 0xff, 0x00},
			want: VP8Descriptor{
				HeaderSize: 3, StartOfPartition: true,
				HasKEYIDX: true, KEYIDX: 31, TIDKEYIDXOffset: 2, IsKeyframe: true,
			},
		},
		{
			name:    "TID only ignores KEYIDX bits",
			payload: []byte{0x90, 0x20, 0xdf, 0x00},
			want: VP8Descriptor{
				HeaderSize: 3, StartOfPartition: true,
				HasTID: true, TID: 3, TIDKEYIDXOffset: 2, IsKeyframe: true,
			},
		},
		{name: "empty", payload: []byte{}, wantErr: ErrEmptyPayload},
		{name: "nil", payload: nil, wantErr: ErrEmptyPayload},
		{name: "truncated before extension byte", payload: []byte{0x90}, wantErr: ErrShortVP8Descriptor},
		{name: "truncated before picture id", payload: []byte{0x90, 0x80}, wantErr: ErrShortVP8Descriptor},
		{name: "truncated 15-bit picture id", payload: []byte{0x90, 0x80, 0x80}, wantErr: ErrShortVP8Descriptor},
		{name: "truncated before TL0PICIDX", payload: []byte{0x90, 0xc0, 0x05}, wantErr: ErrShortVP8Descriptor},
		{name: "truncated before T/K byte", payload: []byte{0x90, 0xe0, 0x05, 0x01}, wantErr: ErrShortVP8Descriptor},
		{name: "no bitstream after 1-byte descriptor", payload: []byte{0x10}, wantErr: ErrNoVP8Bitstream},
		{name: "no bitstream after full descriptor", payload: []byte{0x90, 0xf0, 0x81, 0x23, 0x42, 0xab}, wantErr: ErrNoVP8Bitstream},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseVP8(tt.payload)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ParseVP8(% x) error = %v, want %v", tt.payload, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ParseVP8(% x) =\n%+v\nwant\n%+v", tt.payload, got, tt.want)
			}
			if k := IsVP8Keyframe(tt.payload); k != tt.want.IsKeyframe {
				t.Errorf("IsVP8Keyframe(% x) = %v, want %v", tt.payload, k, tt.want.IsKeyframe)
			}
		})
	}
}

func TestVP8KeyframeSize(t *testing.T) {
	tests := []struct {
		name          string
		payload       []byte
		width, height int
		ok            bool
	}{
		{"keyframe, 1-byte descriptor", withDescriptor([]byte{0x10}, vp8Key640x360()), 640, 360, true},
		{"keyframe, full descriptor", withDescriptor([]byte{0x90, 0xf0, 0x81, 0x23, 0x42, 0xab}, vp8Key640x360()), 640, 360, true},
		{"1280x720", []byte{0x10, 0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x00, 0x05, 0xd0, 0x02}, 1280, 720, true},
		{"14-bit maximum", []byte{0x10, 0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0xff, 0xff, 0xff, 0xff}, 16383, 16383, true},
		{"interframe", withDescriptor([]byte{0x10}, append([]byte{0x51}, vp8Key640x360()[1:]...)), 0, 0, false},
		{"not start of partition", withDescriptor([]byte{0x00}, vp8Key640x360()), 0, 0, false},
		{"partition 1", withDescriptor([]byte{0x11}, vp8Key640x360()), 0, 0, false},
		{"bad start code", []byte{0x10, 0x50, 0x42, 0x00, 0x9d, 0x01, 0x2b, 0x80, 0x02, 0x68, 0x01}, 0, 0, false},
		{"zero width", []byte{0x10, 0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x00, 0xc0, 0x68, 0x01}, 0, 0, false},
		{"truncated size", withDescriptor([]byte{0x10}, vp8Key640x360()[:9]), 0, 0, false},
		{"truncated descriptor", []byte{0x90, 0x80}, 0, 0, false},
		{"empty", nil, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, h, ok := VP8KeyframeSize(tt.payload)
			if w != tt.width || h != tt.height || ok != tt.ok {
				t.Errorf("VP8KeyframeSize(% x) = %d, %d, %v; want %d, %d, %v",
					tt.payload, w, h, ok, tt.width, tt.height, tt.ok)
			}
		})
	}
}

func TestVP8FrameSize(t *testing.T) {
	tests := []struct {
		name          string
		frame         []byte
		width, height int
		ok            bool
	}{
		{"keyframe", vp8Key640x360(), 640, 360, true},
		{"exactly 10 bytes", vp8Key640x360()[:10], 640, 360, true},
		{"interframe", []byte{0x31, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01}, 0, 0, false},
		{"truncated", vp8Key640x360()[:9], 0, 0, false},
		{"zero height", []byte{0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x00, 0x40}, 0, 0, false},
		{"start code wrong", []byte{0x50, 0x42, 0x00, 0x9c, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01}, 0, 0, false},
		{"empty", nil, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, h, ok := VP8FrameSize(tt.frame)
			if w != tt.width || h != tt.height || ok != tt.ok {
				t.Errorf("VP8FrameSize(% x) = %d, %d, %v; want %d, %d, %v",
					tt.frame, w, h, ok, tt.width, tt.height, tt.ok)
			}
		})
	}
}

func TestRewriteVP8PictureID(t *testing.T) {
	tests := []struct {
		name      string
		payload   []byte
		pictureID uint16
		tl0       uint8
		keyIdx    uint8
		want      []byte
	}{
		{
			name:    "15-bit id, TL0PICIDX, TID/Y kept, KEYIDX",
			payload: []byte{0x90, 0xf0, 0x81, 0x23, 0x42, 0xab, 0x01},
			// 0xfedc truncates to 15 bits; KEYIDX 0x25 to 5 bits.
			pictureID: 0xfedc, tl0: 0x07, keyIdx: 0x25,
			want: []byte{0x90, 0xf0, 0xfe, 0xdc, 0x07, 0xa5, 0x01},
		},
		{
			name:      "7-bit id stays 7-bit",
			payload:   []byte{0x90, 0x80, 0x05, 0x01},
			pictureID: 0x1234, tl0: 9, keyIdx: 9,
			want: []byte{0x90, 0x80, 0x34, 0x01},
		},
		{
			name:      "7-bit id wraps at 128",
			payload:   []byte{0x90, 0xc0, 0x7f, 0x10, 0x01},
			pictureID: 128, tl0: 0x11, keyIdx: 0,
			want: []byte{0x90, 0xc0, 0x00, 0x11, 0x01},
		},
		{
			name:      "TID without KEYIDX is left alone",
			payload:   []byte{0x90, 0x20, 0x40, 0x01},
			pictureID: 1, tl0: 1, keyIdx: 1,
			want: []byte{0x90, 0x20, 0x40, 0x01},
		},
		{
			name:      "KEYIDX only",
			payload:   []byte{0x90, 0x10, 0x03, 0x01},
			pictureID: 1, tl0: 1, keyIdx: 0x1f,
			want: []byte{0x90, 0x10, 0x1f, 0x01},
		},
		{
			name:      "no optional fields",
			payload:   []byte{0x10, 0x01, 0x02},
			pictureID: 1, tl0: 1, keyIdx: 1,
			want: []byte{0x10, 0x01, 0x02},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := ParseVP8(tt.payload)
			if err != nil {
				t.Fatal(err)
			}
			got := append([]byte{}, tt.payload...)
			RewriteVP8PictureID(got, d, tt.pictureID, tt.tl0, tt.keyIdx)
			if !bytes.Equal(got, tt.want) {
				t.Fatalf("rewritten % x, want % x", got, tt.want)
			}
			d2, err := ParseVP8(got)
			if err != nil {
				t.Fatal(err)
			}
			if d.HasPictureID && d2.PictureIDWide != d.PictureIDWide {
				t.Errorf("picture id width changed")
			}
			if d2.HeaderSize != d.HeaderSize || d2.TID != d.TID || d2.LayerSync != d.LayerSync {
				t.Errorf("layout changed: %+v -> %+v", d, d2)
			}
		})
	}
}

func TestRewriteVP8PictureIDForeignDescriptor(t *testing.T) {
	// A descriptor from a longer packet must not make the rewrite panic.
	d, err := ParseVP8([]byte{0x90, 0xf0, 0x81, 0x23, 0x42, 0xab, 0x01})
	if err != nil {
		t.Fatal(err)
	}
	for n := range 4 {
		short := make([]byte, n)
		RewriteVP8PictureID(short, d, 1, 2, 3)
	}
}

// vp8Invariants checks what must hold for any input, parsed or not.
func vp8Invariants(t *testing.T, payload []byte, pictureID uint16, tl0, keyIdx uint8) {
	t.Helper()
	d, err := ParseVP8(payload)

	// pion's depacketizer is an independent reading of the same RFC; it
	// accepts a descriptor with no bitstream after it, which we reject.
	var p codecs.VP8Packet
	_, perr := p.Unmarshal(payload)
	if err == nil {
		if perr != nil {
			t.Fatalf("pion rejects % x: %v", payload, perr)
		}
		if d.StartOfPartition != (p.S == 1) || d.PartitionID != p.PID || d.NonReference != (p.N == 1) ||
			d.HasPictureID != (p.I == 1) || d.PictureID != p.PictureID ||
			d.HasTL0PICIDX != (p.L == 1) || d.TL0PICIDX != p.TL0PICIDX ||
			d.HasTID != (p.T == 1) || d.TID != p.TID || d.LayerSync != (p.Y == 1) ||
			d.HasKEYIDX != (p.K == 1) || d.KEYIDX != p.KEYIDX ||
			d.HeaderSize != len(payload)-len(p.Payload) {
			t.Fatalf("% x: ours %+v, pion %+v", payload, d, p)
		}
	} else if !errors.Is(err, ErrNoVP8Bitstream) && perr == nil && len(payload) > 0 {
		t.Fatalf("% x: we fail with %v, pion parses it", payload, err)
	}

	if IsVP8Keyframe(payload) != (err == nil && d.IsKeyframe) {
		t.Fatalf("IsVP8Keyframe disagrees with ParseVP8 on % x", payload)
	}
	if _, _, ok := VP8KeyframeSize(payload); ok && !d.IsKeyframe {
		t.Fatalf("VP8KeyframeSize ok on a non-keyframe % x", payload)
	}
	if err != nil {
		if d != (VP8Descriptor{}) {
			t.Fatalf("error %v with non-zero descriptor %+v", err, d)
		}
		return
	}
	if d.HeaderSize < 1 || d.HeaderSize >= len(payload) {
		t.Fatalf("HeaderSize %d out of range for %d bytes", d.HeaderSize, len(payload))
	}
	for _, off := range []struct {
		has bool
		off int
	}{{d.HasPictureID, d.PictureIDOffset}, {d.HasTL0PICIDX, d.TL0PICIDXOffset}, {d.HasTID || d.HasKEYIDX, d.TIDKEYIDXOffset}} {
		if off.has && (off.off < 2 || off.off >= d.HeaderSize) {
			t.Fatalf("offset %d outside descriptor of %d bytes", off.off, d.HeaderSize)
		}
	}

	// Rewriting changes only the requested fields, never the layout.
	got := append([]byte{}, payload...)
	RewriteVP8PictureID(got, d, pictureID, tl0, keyIdx)
	d2, err := ParseVP8(got)
	if err != nil {
		t.Fatalf("rewritten % x no longer parses: %v", got, err)
	}
	want := d
	if d.HasPictureID {
		want.PictureID = pictureID & 0x7f
		if d.PictureIDWide {
			want.PictureID = pictureID & 0x7fff
		}
	}
	if d.HasTL0PICIDX {
		want.TL0PICIDX = tl0
	}
	if d.HasKEYIDX {
		want.KEYIDX = keyIdx & 0x1f
	}
	if d2 != want {
		t.Fatalf("rewrite of % x: got %+v, want %+v", payload, d2, want)
	}
	if !bytes.Equal(got[d.HeaderSize:], payload[d.HeaderSize:]) || got[0] != payload[0] {
		t.Fatalf("rewrite touched bytes outside the fields: % x -> % x", payload, got)
	}
}

func FuzzParseVP8(f *testing.F) {
	seeds := [][]byte{
		{},
		{0x10},
		{0x10, 0x00},
		{0x10, 0x01},
		{0x11, 0x00},
		{0x90, 0x00, 0x00},
		{0x90, 0x80, 0x7f, 0x01},
		{0x90, 0x80, 0x80},
		{0x90, 0xf0, 0x81, 0x23, 0x42, 0xab, 0x01},
		{0x90, 0xf0, 0x81, 0x23, 0x42, 0xab},
		{0x80, 0xc0, 0x05, 0x09, 0x00},
		{0x90, 0x10, 0xff, 0x00},
		{0x90, 0x20, 0xdf, 0x00},
		withDescriptor([]byte{0x90, 0x80, 0xab, 0xcd}, vp8Key640x360()),
		withDescriptor([]byte{0x10}, vp8Key640x360()),
	}
	for i, s := range seeds {
		f.Add(s, uint16(i*4099), uint8(i*37), uint8(i))
	}
	f.Fuzz(func(t *testing.T, payload []byte, pictureID uint16, tl0, keyIdx uint8) {
		vp8Invariants(t, payload, pictureID, tl0, keyIdx)
	})
}
