package client

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"slices"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4/pkg/media/oggwriter"

	"github.com/podium-sfu/podium/testmedia"
)

// makeIVF builds an IVF file; frame i has pts i*ptsStep in a num/den timebase.
func makeIVF(frames [][]byte, num, den uint32, ptsStep uint64) []byte {
	var b bytes.Buffer
	h := make([]byte, 32)
	copy(h, "DKIF")
	binary.LittleEndian.PutUint16(h[6:], 32)
	copy(h[8:], "VP80")
	binary.LittleEndian.PutUint16(h[12:], 320)
	binary.LittleEndian.PutUint16(h[14:], 180)
	binary.LittleEndian.PutUint32(h[16:], den)
	binary.LittleEndian.PutUint32(h[20:], num)
	binary.LittleEndian.PutUint32(h[24:], uint32(len(frames)))
	b.Write(h)
	for i, f := range frames {
		fh := make([]byte, 12)
		binary.LittleEndian.PutUint32(fh, uint32(len(f)))
		binary.LittleEndian.PutUint64(fh[4:], uint64(i)*ptsStep)
		b.Write(fh)
		b.Write(f)
	}
	return b.Bytes()
}

// vp8Frames returns n fake VP8 frames: a keyframe (bit 0 clear) then inter frames, each
// carrying its index in byte 1 and padded to size.
func vp8Frames(n, size int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		f := make([]byte, size)
		f[0] = 0x11 // inter frame, show_frame
		if i == 0 {
			f[0] = 0x10
		}
		f[1] = byte(i)
		out[i] = f
	}
	return out
}

func TestIVFSource(t *testing.T) {
	for _, tc := range []struct {
		name     string
		num, den uint32
		step     uint64
	}{
		{"1/30", 1, 30, 1},
		{"1/90000", 1, 90000, 3000},
		{"1001/30000", 1001, 30000, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := newIVFSource(makeIVF(vp8Frames(5, 50), tc.num, tc.den, tc.step))
			if err != nil {
				t.Fatal(err)
			}
			want := tc.step * 90000 * uint64(tc.num) / uint64(tc.den)
			for pass := range 2 {
				for i := range 5 {
					f, err := src.next()
					if err != nil {
						t.Fatal(err)
					}
					if f.ts != uint64(i)*want || f.key != (i == 0) || f.data[1] != byte(i) {
						t.Fatalf("pass %d frame %d: ts %d key %v", pass, i, f.ts, f.key)
					}
					if i > 0 && f.dur != want {
						t.Fatalf("frame %d dur %d, want %d", i, f.dur, want)
					}
				}
				if _, err := src.next(); !errors.Is(err, io.EOF) {
					t.Fatalf("end: %v", err)
				}
				if err := src.rewind(); err != nil {
					t.Fatal(err)
				}
			}
			if src.width != 320 || src.height != 180 {
				t.Errorf("size %dx%d", src.width, src.height)
			}
		})
	}
	if _, err := newIVFSource([]byte("not an ivf file at all, really not")); err == nil {
		t.Error("garbage accepted")
	}
}

// annexB joins NAL units with 4-byte start codes.
func annexB(nals ...[]byte) []byte {
	var b []byte
	for _, n := range nals {
		b = append(b, 0, 0, 0, 1)
		b = append(b, n...)
	}
	return b
}

func TestH264SourceGroupsAccessUnits(t *testing.T) {
	sps := []byte{0x67, 0x42, 0xc0, 0x1f}
	pps := []byte{0x68, 0xce, 0x3c, 0x80}
	idr := []byte{0x65, 0x88, 0x84, 0x00}
	p1 := []byte{0x41, 0x9a, 0x01}
	p2a := []byte{0x41, 0x9a, 0x02}       // first slice of a picture
	p2b := []byte{0x41, 0x20, 0x02, 0x03} // first_mb_in_slice != 0: same picture
	p3 := []byte{0x41, 0x9a, 0x03}
	src, err := newH264Source(annexB(sps, pps, idr, p1, p2a, p2b, sps, pps, idr, p3), 30)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		data []byte
		key  bool
	}{
		{annexB(sps, pps, idr), true},
		{annexB(p1), false},
		{annexB(p2a, p2b), false},
		{annexB(sps, pps, idr), true},
		{annexB(p3), false},
	}
	for pass := range 2 {
		for i, w := range want {
			f, err := src.next()
			if err != nil {
				t.Fatalf("pass %d frame %d: %v", pass, i, err)
			}
			if !bytes.Equal(f.data, w.data) || f.key != w.key || f.ts != uint64(i)*3000 || f.dur != 3000 {
				t.Fatalf("pass %d frame %d: % x key %v ts %d", pass, i, f.data, f.key, f.ts)
			}
		}
		if _, err := src.next(); !errors.Is(err, io.EOF) {
			t.Fatalf("end: %v", err)
		}
		if err := src.rewind(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := newH264Source(nil, 0); err == nil {
		t.Error("fps 0 accepted")
	}
}

// makeOgg writes n 20 ms Opus packets (TOC config 1) carrying their index.
func makeOgg(t *testing.T, n int) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := oggwriter.NewWith(&b, 48000, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		p := &rtp.Packet{Header: rtp.Header{Timestamp: uint32(i * 960)}, Payload: []byte{0x08, byte(i), 0xff}}
		if err := w.WriteRTP(p); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

func TestOggSource(t *testing.T) {
	src, err := newOggSource(makeOgg(t, 4))
	if err != nil {
		t.Fatal(err)
	}
	for pass := range 2 {
		for i := range 4 {
			f, err := src.next()
			if err != nil {
				t.Fatal(err)
			}
			if f.ts != uint64(i)*960 || f.dur != 960 || f.data[1] != byte(i) {
				t.Fatalf("pass %d packet %d: ts %d dur %d % x", pass, i, f.ts, f.dur, f.data)
			}
		}
		if _, err := src.next(); !errors.Is(err, io.EOF) {
			t.Fatalf("end: %v", err)
		}
		if err := src.rewind(); err != nil {
			t.Fatal(err)
		}
	}
}

// The readers against real encoder output: the project's fixtures (6 s, 30 fps, a keyframe
// every 90 frames, 20 ms Opus pages).
func TestSourcesReadFixtures(t *testing.T) {
	type stats struct {
		n          int
		keys       []int
		lastTS     uint64
		firstDur   uint64
		largestGap uint64
	}
	read := func(src source) stats {
		var st stats
		var prev uint64
		for {
			f, err := src.next()
			if errors.Is(err, io.EOF) {
				return st
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.key {
				st.keys = append(st.keys, st.n)
			}
			if st.n == 0 {
				st.firstDur = f.dur
			} else {
				st.largestGap = max(st.largestGap, f.ts-prev)
			}
			prev, st.lastTS = f.ts, f.ts
			st.n++
		}
	}
	q, h, f := testmedia.VP8Layers()
	for _, file := range [][]byte{q, h, f} {
		src, err := newIVFSource(file)
		if err != nil {
			t.Fatal(err)
		}
		st := read(src)
		if st.n != 180 || !slices.Equal(st.keys, []int{0, 90}) || st.lastTS != 179*3000 || st.largestGap != 3000 {
			t.Errorf("ivf %dx%d: %+v", src.width, src.height, st)
		}
	}
	hs, err := newH264Source(testmedia.H264(), 30)
	if err != nil {
		t.Fatal(err)
	}
	if st := read(hs); st.n != 180 || !slices.Equal(st.keys, []int{0, 90}) {
		t.Errorf("h264: %+v", st)
	}
	as, err := newOggSource(testmedia.Opus())
	if err != nil {
		t.Fatal(err)
	}
	if st := read(as); st.n < 299 || st.n > 301 || st.firstDur != 960 || st.largestGap != 960 {
		t.Errorf("ogg: %+v", st)
	}
}
