// Package mediatest makes small media files for tests of the SDK: IVF, Annex-B H.264 and Ogg,
// whose frames carry their index so that a test can tell them apart.
package mediatest

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4/pkg/media/oggwriter"
)

// IVF builds an IVF file of VP8 at 320x180; frame i has pts i*ptsStep in a num/den timebase.
func IVF(frames [][]byte, num, den uint32, ptsStep uint64) []byte {
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

// WithScalabilityMode returns a copy of an IVF file whose header names a scalability mode (such
// as "L1T3") in its unused bytes 28-31, as testmedia's VP8 fixtures do.
func WithScalabilityMode(ivf []byte, mode string) []byte {
	out := bytes.Clone(ivf)
	copy(out[28:32], mode)
	return out
}

// VP8Frames returns n fake VP8 frames: a keyframe (bit 0 clear) then inter frames, each
// carrying its index in byte 1 and padded to size.
func VP8Frames(n, size int) [][]byte {
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

// AnnexB joins NAL units with 4-byte start codes.
func AnnexB(nals ...[]byte) []byte {
	var b []byte
	for _, n := range nals {
		b = append(b, 0, 0, 0, 1)
		b = append(b, n...)
	}
	return b
}

// Ogg writes n 20 ms Opus packets (TOC config 1) carrying their index.
func Ogg(t testing.TB, n int) []byte {
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
