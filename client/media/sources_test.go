package media

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"testing"

	"github.com/podium-sfu/podium/client/media/mediatest"
	"github.com/podium-sfu/podium/testmedia"
)

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
			src, err := NewIVFSource(mediatest.IVF(mediatest.VP8Frames(5, 50), tc.num, tc.den, tc.step))
			if err != nil {
				t.Fatal(err)
			}
			want := tc.step * 90000 * uint64(tc.num) / uint64(tc.den)
			for pass := range 2 {
				for i := range 5 {
					f, err := src.Next()
					if err != nil {
						t.Fatal(err)
					}
					if f.TS != uint64(i)*want || f.Key != (i == 0) || f.Data[1] != byte(i) {
						t.Fatalf("pass %d frame %d: ts %d key %v", pass, i, f.TS, f.Key)
					}
					if i > 0 && f.Dur != want {
						t.Fatalf("frame %d dur %d, want %d", i, f.Dur, want)
					}
				}
				if _, err := src.Next(); !errors.Is(err, io.EOF) {
					t.Fatalf("end: %v", err)
				}
				if err := src.Rewind(); err != nil {
					t.Fatal(err)
				}
			}
			if src.width != 320 || src.height != 180 {
				t.Errorf("size %dx%d", src.width, src.height)
			}
		})
	}
	if _, err := NewIVFSource([]byte("not an ivf file at all, really not")); err == nil {
		t.Error("garbage accepted")
	}
}

func TestH264SourceGroupsAccessUnits(t *testing.T) {
	sps := []byte{0x67, 0x42, 0xc0, 0x1f}
	pps := []byte{0x68, 0xce, 0x3c, 0x80}
	idr := []byte{0x65, 0x88, 0x84, 0x00}
	p1 := []byte{0x41, 0x9a, 0x01}
	p2a := []byte{0x41, 0x9a, 0x02}       // first slice of a picture
	p2b := []byte{0x41, 0x20, 0x02, 0x03} // first_mb_in_slice != 0: same picture
	p3 := []byte{0x41, 0x9a, 0x03}
	src, err := NewH264Source(mediatest.AnnexB(sps, pps, idr, p1, p2a, p2b, sps, pps, idr, p3), 30)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		data []byte
		key  bool
	}{
		{mediatest.AnnexB(sps, pps, idr), true},
		{mediatest.AnnexB(p1), false},
		{mediatest.AnnexB(p2a, p2b), false},
		{mediatest.AnnexB(sps, pps, idr), true},
		{mediatest.AnnexB(p3), false},
	}
	for pass := range 2 {
		for i, w := range want {
			f, err := src.Next()
			if err != nil {
				t.Fatalf("pass %d frame %d: %v", pass, i, err)
			}
			if !bytes.Equal(f.Data, w.data) || f.Key != w.key || f.TS != uint64(i)*3000 || f.Dur != 3000 {
				t.Fatalf("pass %d frame %d: % x key %v ts %d", pass, i, f.Data, f.Key, f.TS)
			}
		}
		if _, err := src.Next(); !errors.Is(err, io.EOF) {
			t.Fatalf("end: %v", err)
		}
		if err := src.Rewind(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := NewH264Source(nil, 0); err == nil {
		t.Error("fps 0 accepted")
	}
}

func TestOggSource(t *testing.T) {
	src, err := NewOggSource(mediatest.Ogg(t, 4))
	if err != nil {
		t.Fatal(err)
	}
	for pass := range 2 {
		for i := range 4 {
			f, err := src.Next()
			if err != nil {
				t.Fatal(err)
			}
			if f.TS != uint64(i)*960 || f.Dur != 960 || f.Data[1] != byte(i) {
				t.Fatalf("pass %d packet %d: ts %d dur %d % x", pass, i, f.TS, f.Dur, f.Data)
			}
		}
		if _, err := src.Next(); !errors.Is(err, io.EOF) {
			t.Fatalf("end: %v", err)
		}
		if err := src.Rewind(); err != nil {
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
	read := func(src Source) stats {
		var st stats
		var prev uint64
		for {
			f, err := src.Next()
			if errors.Is(err, io.EOF) {
				return st
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.Key {
				st.keys = append(st.keys, st.n)
			}
			if st.n == 0 {
				st.firstDur = f.Dur
			} else {
				st.largestGap = max(st.largestGap, f.TS-prev)
			}
			prev, st.lastTS = f.TS, f.TS
			st.n++
		}
	}
	q, h, f := testmedia.VP8Layers()
	for _, file := range [][]byte{q, h, f} {
		src, err := NewIVFSource(file)
		if err != nil {
			t.Fatal(err)
		}
		st := read(src)
		if st.n != 180 || !slices.Equal(st.keys, []int{0, 90}) || st.lastTS != 179*3000 || st.largestGap != 3000 {
			t.Errorf("ivf %dx%d: %+v", src.width, src.height, st)
		}
	}
	hs, err := NewH264Source(testmedia.H264(), 30)
	if err != nil {
		t.Fatal(err)
	}
	if st := read(hs); st.n != 180 || !slices.Equal(st.keys, []int{0, 90}) {
		t.Errorf("h264: %+v", st)
	}
	as, err := NewOggSource(testmedia.Opus())
	if err != nil {
		t.Fatal(err)
	}
	if st := read(as); st.n < 299 || st.n > 301 || st.firstDur != 960 || st.largestGap != 960 {
		t.Errorf("ogg: %+v", st)
	}
}

// The fixtures name their scalability mode, and the source gives each frame the temporal layer
// testmedia says it has, in every pass.
func TestIVFSourceTemporalFixtures(t *testing.T) {
	q, h, f := testmedia.VP8Layers()
	for _, file := range [][]byte{q, h, f} {
		src, err := NewIVFSource(file)
		if err != nil {
			t.Fatal(err)
		}
		if src.ScalabilityMode() != testmedia.ScalabilityMode {
			t.Fatalf("%dx%d: scalability mode %q", src.width, src.height, src.ScalabilityMode())
		}
		for pass := range 2 {
			for i := 0; ; i++ {
				f, err := src.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				tid, sync := testmedia.VP8TemporalID(i)
				if want := (Temporal{Valid: true, TID: tid, LayerSync: sync}); f.Temporal != want {
					t.Fatalf("%dx%d pass %d frame %d: %+v, want %+v", src.width, src.height, pass, i, f.Temporal, want)
				}
			}
			if err := src.Rewind(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// The L1T3 pattern starts again at every keyframe and at a rewind; a file that names no mode,
// or one the source does not know, gives no temporal layers.
func TestIVFSourceTemporal(t *testing.T) {
	frames := mediatest.VP8Frames(12, 20)
	frames[6][0] = 0x10 // a keyframe mid-pattern
	l1t3 := []Temporal{{true, 0, false}, {true, 2, true}, {true, 1, true}, {true, 2, false}}
	want := []Temporal{l1t3[0], l1t3[1], l1t3[2], l1t3[3], l1t3[0], l1t3[1],
		l1t3[0], l1t3[1], l1t3[2], l1t3[3], l1t3[0], l1t3[1]}
	file := mediatest.IVF(frames, 1, 30, 1)
	for _, tc := range []struct {
		mode string
		want []Temporal // nil: none
	}{
		{"L1T3", want},
		{"", nil},
		{"L1T9", nil},
		{"l1t3", nil},
	} {
		src, err := NewIVFSource(mediatest.WithScalabilityMode(file, tc.mode))
		if err != nil {
			t.Fatal(err)
		}
		if mode := src.ScalabilityMode(); (mode == "") != (tc.want == nil) {
			t.Errorf("%q: scalability mode %q", tc.mode, mode)
		}
		for pass := range 2 {
			for i := range 3 + pass*9 { // stop mid-pattern the first time
				f, err := src.Next()
				if err != nil {
					t.Fatal(err)
				}
				var w Temporal
				if tc.want != nil {
					w = tc.want[i]
				}
				if f.Temporal != w {
					t.Errorf("%q pass %d frame %d: %+v, want %+v", tc.mode, pass, i, f.Temporal, w)
				}
			}
			if err := src.Rewind(); err != nil {
				t.Fatal(err)
			}
		}
	}
}
