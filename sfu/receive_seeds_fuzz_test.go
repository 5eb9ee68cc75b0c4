package sfu

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/pion/rtp"
	rtpcodecs "github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4/pkg/media/h264reader"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"

	"github.com/podium-sfu/podium/testmedia"
)

// script writes a FuzzReceivePath input.
type script struct{ b []byte }

func newScript(codecIndex, levelID byte, first uint16) *script {
	return &script{b: []byte{codecIndex, levelID, byte(first >> 8), byte(first)}}
}

func (s *script) add(kind byte, data ...byte) *script {
	s.b = append(s.b, kind, byte(len(data)>>8), byte(len(data)))
	s.b = append(s.b, data...)
	return s
}

func (s *script) packet(layer int, pkt []byte) *script {
	return s.add(recRaw, append([]byte{byte(layer)}, pkt...)...)
}

// receiveSeeds are real media, packetized as a browser would send it (with the extension ids
// of the engine's offers), in scripts that start, switch, pause and resume the down tracks,
// NACK, probe and replay; and the minimal scripts of the known issues.
func receiveSeeds(tb testing.TB) [][]byte {
	vp8Seed := func() []byte {
		layers := seedVP8Layers(tb)
		s := newScript(0, extLevel, 0xfff0) // the subscribers' numbering wraps early
		s.add(recTarget, 2, 2)              // down track 2 asks for f
		frame := func(i int) {
			for l := range layers {
				for _, p := range layers[l][i] {
					s.packet(l, p)
				}
			}
		}
		for i := range 3 {
			frame(i)
		}
		s.add(recNACK, 0x80, 0, 1, 0, 3, 0, 4, 0, 0) // down track 0 lost its last 4 packets
		s.add(recPadding, 1, 3)                      // a probe on down track 1
		s.add(recReplay, 2)                          // a late duplicate
		s.add(recTarget, 0, 2).add(recTarget, 2, 1)  // 0 up to f, 2 down to h: at the next keyframes
		frame(3)
		frame(4) // the second keyframe of every layer
		s.add(recNACK, 0x82, 0, 2, 0xff, 0xff)
		s.add(recPLI, 0).add(recTarget, 1, 0) // 1 pauses, then resumes on q
		s.add(recTarget, 1, 1)
		frame(5)
		last := layers[0][5][len(layers[0][5])-1]
		s.add(recGrow, append([]byte{0, 0x06, 0x40}, last...)...) // 1600 bytes
		s.add(recGrow, append([]byte{0, 0x23, 0x28}, last...)...) // 9000 bytes
		return s.b
	}
	opusSeed := func() []byte {
		s := newScript(2, extLevel, 0x8000)
		for i, p := range seedOpus(tb, 30) {
			s.packet(0, p)
			if i == 20 {
				s.add(recNACK, 0x80, 0, 0, 0xff, 0xff).add(recPadding, 0, 2)
				s.add(recTarget, 1, 0).add(recReplay, 3).add(recTarget, 1, 1)
			}
		}
		return s.b
	}
	h264Seed := func() []byte {
		s := newScript(1, 0, 1)
		pkts := seedH264(tb)
		for i, p := range pkts {
			s.packet(0, p)
			if i < len(pkts)/2 {
				q := append([]byte(nil), p...)
				binary.BigEndian.PutUint16(q[2:], 30000+uint16(i))
				s.packet(1, q)
			}
		}
		s.add(recTarget, 0, 2).add(recPLI, 0).add(recNACK, 0x80, 0, 1, 0, 0)
		return s.b
	}
	// A publisher's retransmission of a packet lost before a probe: it must fill its gap.
	paddingIssue := newScript(0, 0, 100).
		add(recSynth, 0, 0, 0, synthKey|synthMarker, 2).
		add(recSynth, 0, 2, 2, synthMarker, 2). // one packet lost upstream
		add(recPadding, 0, 3).
		add(recSynth, 0, 0xff, 0xff, synthMarker, 2).b // the lost one comes back
	// One layer for longer than half the sequence space: it must keep flowing.
	epochIssue := newScript(2, 0, 7).
		packet(0, marshal(0, 0, false, []byte{0xfc})).
		packet(0, marshal(20000, 960, false, []byte{0xfc})).
		packet(0, marshal(40000, 1920, false, []byte{0xfc})).b
	return [][]byte{vp8Seed(), opusSeed(), h264Seed(), paddingIssue, epochIssue}
}

const seedPayload = 160

// seedVP8Layers packetizes the first frames of the three VP8 fixtures with 15-bit picture ids
// and the mid, rid, transport-wide sequence and abs-send-time extensions: frames 0-2, then
// frames 89-91 (90 is the second keyframe), at most 3 packets of each frame.
func seedVP8Layers(tb testing.TB) [3][][][]byte {
	var out [3][][][]byte
	q, hq, f := testmedia.VP8Layers()
	for l, ivf := range [][]byte{q, hq, f} {
		r, _, err := ivfreader.NewWith(bytes.NewReader(ivf))
		if err != nil {
			tb.Fatal(err)
		}
		pay := &rtpcodecs.VP8Payloader{EnablePictureID: true}
		seq := uint16(1000 * (l + 1))
		for i := 0; i < 92; i++ {
			frame, _, err := r.ParseNextFrame()
			if err != nil {
				tb.Fatal(err)
			}
			payloads := pay.Payload(1200, frame)
			if i > 2 && i < 89 {
				seq += uint16(len(payloads))
				continue
			}
			var pkts [][]byte
			for j, p := range payloads {
				if j < 3 {
					pkts = append(pkts, browserPacket(96, seq, uint32(i*3000), j == len(payloads)-1, p, "qhf"[l:l+1], -1))
				}
				seq++
			}
			out[l] = append(out[l], pkts)
		}
	}
	return out
}

// seedOpus is the first n Opus packets of the fixture with mid, audio level and the
// transport-wide sequence.
func seedOpus(tb testing.TB, n int) [][]byte {
	r, _, err := oggreader.NewWith(bytes.NewReader(testmedia.Opus()))
	if err != nil {
		tb.Fatal(err)
	}
	var pkts [][]byte
	for len(pkts) < n {
		payload, hdr, err := r.ParseNextPage()
		if err != nil {
			tb.Fatal(err)
		}
		if _, isHeader := hdr.HeaderType(payload); isHeader || len(payload) == 0 {
			continue
		}
		i := len(pkts)
		pkts = append(pkts, browserPacket(111, uint16(500+i), uint32(960*i), false, payload, "", i%128))
	}
	return pkts
}

// seedH264 packetizes the first NAL units of the H.264 fixture (SPS, PPS, IDR, P slices).
func seedH264(tb testing.TB) [][]byte {
	r, err := h264reader.NewReader(bytes.NewReader(testmedia.H264()))
	if err != nil {
		tb.Fatal(err)
	}
	pay := &rtpcodecs.H264Payloader{}
	var pkts [][]byte
	for i := 0; i < 6; i++ {
		nal, err := r.NextNAL()
		if err != nil {
			tb.Fatal(err)
		}
		ps := pay.Payload(1200, nal.Data)
		for j, p := range ps {
			if j < 4 {
				pkts = append(pkts, browserPacket(102, uint16(len(pkts)+7), uint32(i*3000), j == len(ps)-1, p, "", -1))
			}
		}
	}
	return pkts
}

// browserPacket is an RTP packet with the header extensions a browser's publisher sends on
// Podium's negotiated ids: mid, rid (video), audio level (level >= 0), transport-wide sequence
// and abs-send-time. The payload is cut to seedPayload bytes: the receive path reads only its
// start, and a fuzzer's seeds are best small.
func browserPacket(pt uint8, seq uint16, ts uint32, marker bool, payload []byte, rid string, level int) []byte {
	payload = payload[:min(len(payload), seedPayload)]
	h := rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq, Timestamp: ts, SSRC: 0xabcd, Marker: marker}
	_ = h.SetExtension(extMid, []byte("0"))
	if rid != "" {
		_ = h.SetExtension(extRID, []byte(rid))
	}
	if level >= 0 {
		_ = h.SetExtension(extLevel, []byte{0x80 | byte(level)})
	}
	_ = h.SetExtension(extTWCC, []byte{byte(seq >> 8), byte(seq)})
	_ = h.SetExtension(extAbsSend, []byte{1, 2, 3})
	b, err := (&rtp.Packet{Header: h, Payload: payload}).Marshal()
	if err != nil {
		panic(err)
	}
	return b
}
