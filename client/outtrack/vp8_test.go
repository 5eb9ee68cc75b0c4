package outtrack

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/client/media"
	"github.com/podium-sfu/podium/client/media/mediatest"
	"github.com/podium-sfu/podium/sfu/codec"
	"github.com/podium-sfu/podium/testmedia"
)

// A fixture played through its IVF source goes out with the descriptor Chrome writes for
// temporal layers, as the SFU parses it: the 15-bit picture id one up per frame, TL0PICIDX one
// up on each TL0 frame, the frame's TID and Y, no KEYIDX, S and PID 0 on its first packet. Two
// passes, as a looping player sends them.
func TestOutTrackVP8TemporalDescriptor(t *testing.T) {
	tr, w := bindTrack(t, webrtc.MimeTypeVP8, "f", webrtc.RTPCodecTypeVideo)
	src, err := media.NewIVFSource(testmedia.VP8(1280))
	if err != nil {
		t.Fatal(err)
	}
	var pictureID uint16
	var tl0 uint8
	frameCount := 0
	for pass := range 2 {
		for i := 0; ; i++ {
			f, err := src.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			first := len(w.pkts)
			if err := tr.WriteMediaFrame(f, uint64(frameCount)*3000); err != nil {
				t.Fatal(err)
			}
			pkts := w.pkts[first:]
			if len(pkts) == 0 {
				t.Fatalf("pass %d frame %d: no packets", pass, i)
			}
			tid, sync := testmedia.VP8TemporalID(i)
			var data []byte
			for j, p := range pkts {
				d, err := codec.ParseVP8(p.Payload)
				if err != nil {
					t.Fatalf("pass %d frame %d packet %d: %v", pass, i, j, err)
				}
				if frameCount == 0 && j == 0 {
					pictureID, tl0 = d.PictureID, d.TL0PICIDX-1
				}
				if j == 0 && tid == 0 {
					tl0++
				}
				if !d.HasPictureID || !d.PictureIDWide || d.PictureID != (pictureID+uint16(frameCount))&0x7fff {
					t.Fatalf("pass %d frame %d packet %d: picture id %d (present %v, wide %v)", pass, i, j, d.PictureID, d.HasPictureID, d.PictureIDWide)
				}
				if !d.HasTL0PICIDX || d.TL0PICIDX != tl0 || !d.HasTID || d.TID != tid || d.LayerSync != sync || d.HasKEYIDX {
					t.Fatalf("pass %d frame %d packet %d: TL0PICIDX %d (want %d), TID %d Y %v (want %d %v), KEYIDX %v",
						pass, i, j, d.TL0PICIDX, tl0, d.TID, d.LayerSync, tid, sync, d.HasKEYIDX)
				}
				if d.HeaderSize != vp8LayerSize || d.StartOfPartition != (j == 0) || d.PartitionID != 0 || d.NonReference {
					t.Fatalf("pass %d frame %d packet %d: %+v", pass, i, j, d)
				}
				if d.IsKeyframe != (j == 0 && f.Key) {
					t.Fatalf("pass %d frame %d packet %d: keyframe %v", pass, i, j, d.IsKeyframe)
				}
				if p.Marker != (j == len(pkts)-1) || p.Timestamp != pkts[0].Timestamp {
					t.Fatalf("pass %d frame %d packet %d: marker %v, timestamp %d", pass, i, j, p.Marker, p.Timestamp)
				}
				data = append(data, p.Payload[d.HeaderSize:]...)
			}
			if !bytes.Equal(data, f.Data) {
				t.Fatalf("pass %d frame %d: the packets do not hold the frame", pass, i)
			}
			frameCount++
		}
		if err := src.Rewind(); err != nil {
			t.Fatal(err)
		}
	}
	if frameCount != 2*int(testmedia.Duration.Seconds())*testmedia.FPS {
		t.Errorf("%d frames", frameCount)
	}
}

// A frame whose layer is not known keeps the descriptor with only the picture id, which goes
// on counting across frames with and without layers.
func TestOutTrackVP8WithoutTemporal(t *testing.T) {
	tr, w := bindTrack(t, webrtc.MimeTypeVP8, "", webrtc.RTPCodecTypeVideo)
	frames := mediatest.VP8Frames(3, 2500)
	writes := []struct {
		f      media.Frame
		layers bool
	}{
		{media.Frame{Data: frames[0]}, false},
		{media.Frame{Data: frames[1], Temporal: media.Temporal{Valid: true, TID: 2, LayerSync: true}}, true},
		{media.Frame{Data: frames[2]}, false},
	}
	var pictureID uint16
	for i, wr := range writes {
		first := len(w.pkts)
		var err error
		if wr.layers {
			err = tr.WriteMediaFrame(wr.f, uint64(i)*3000)
		} else {
			err = tr.WriteFrame(wr.f.Data, uint64(i)*3000)
		}
		if err != nil {
			t.Fatal(err)
		}
		pkts := w.pkts[first:]
		if len(pkts) != 3 {
			t.Fatalf("frame %d: %d packets for 2500 bytes", i, len(pkts))
		}
		for j, p := range pkts {
			d, err := codec.ParseVP8(p.Payload)
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 && j == 0 {
				pictureID = d.PictureID
			}
			if !d.HasPictureID || !d.PictureIDWide || d.PictureID != pictureID+uint16(i) || d.StartOfPartition != (j == 0) {
				t.Fatalf("frame %d packet %d: %+v", i, j, d)
			}
			want := vp8BaseSize
			if wr.layers {
				want = vp8LayerSize
			}
			if d.HeaderSize != want || d.HasTID != wr.layers || d.HasTL0PICIDX != wr.layers || d.HasKEYIDX {
				t.Fatalf("frame %d packet %d: %+v", i, j, d)
			}
			if wr.layers && (d.TID != 2 || !d.LayerSync) {
				t.Fatalf("frame %d packet %d: TID %d Y %v", i, j, d.TID, d.LayerSync)
			}
		}
	}
}

// The picture id wraps at 15 bits, TL0PICIDX at 8.
func TestVP8PayloaderWraps(t *testing.T) {
	p := &vp8Payloader{pictureID: 0x7fff, tl0PicIdx: 0xff}
	p.setTemporal(media.Temporal{Valid: true})
	d, err := codec.ParseVP8(p.Payload(1000, []byte{0x11, 0, 0})[0])
	if err != nil || d.PictureID != 0x7fff || d.TL0PICIDX != 0 {
		t.Fatalf("%+v %v", d, err)
	}
	d, err = codec.ParseVP8(p.Payload(1000, []byte{0x11, 0, 0})[0])
	if err != nil || d.PictureID != 0 || d.HasTID {
		t.Fatalf("%+v %v", d, err)
	}
	if p.Payload(vp8BaseSize, []byte{1}) != nil || p.Payload(1000, nil) != nil {
		t.Error("payloads with no room or no frame")
	}
}

// A frame costs the payloader two allocations however many packets it makes (pion's costs one
// per packet and more for the slice of them).
func TestVP8PayloaderAllocations(t *testing.T) {
	p := &vp8Payloader{}
	frame := make([]byte, 20000)
	allocs := testing.AllocsPerRun(100, func() {
		p.setTemporal(media.Temporal{Valid: true, TID: 1, LayerSync: true})
		if n := len(p.Payload(rtpMTU-12, frame)); n != 17 {
			t.Fatalf("%d packets", n)
		}
	})
	if allocs > 2 {
		t.Errorf("%.0f allocations per frame", allocs)
	}
}
