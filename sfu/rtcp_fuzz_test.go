package sfu

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/sfu/bwe"
	"github.com/podium-sfu/podium/sfu/fastpath"
)

// twccHeader is the header pion's TransportLayerCC leaves to its caller (length in words - 1).
func twccHeader(length uint16) rtcp.Header {
	return rtcp.Header{Count: rtcp.FormatTCC, Type: rtcp.TypeTransportSpecificFeedback, Length: length}
}

// TestUnmarshalRTCPSkipsFeedback: the down track's RTCP parse leaves transport-wide feedback to
// the estimator and keeps everything else of the compound packet.
func TestUnmarshalRTCPSkipsFeedback(t *testing.T) {
	b, err := rtcp.Marshal([]rtcp.Packet{
		&rtcp.ReceiverReport{SSRC: 1, Reports: []rtcp.ReceptionReport{{SSRC: 2, FractionLost: 3}}},
		&rtcp.TransportLayerCC{Header: twccHeader(5), SenderSSRC: 1, MediaSSRC: 2, BaseSequenceNumber: 10, PacketStatusCount: 1,
			PacketChunks: []rtcp.PacketStatusChunk{&rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketReceivedSmallDelta, RunLength: 1}},
			RecvDeltas:   []*rtcp.RecvDelta{{Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 250}}},
		&rtcp.PictureLossIndication{SenderSSRC: 1, MediaSSRC: 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := unmarshalRTCP(b)
	if len(got) != 2 {
		t.Fatalf("parsed %d packets, want the report and the PLI", len(got))
	}
	if _, ok := got[0].(*rtcp.ReceiverReport); !ok {
		t.Errorf("first %T", got[0])
	}
	if _, ok := got[1].(*rtcp.PictureLossIndication); !ok {
		t.Errorf("second %T", got[1])
	}
}

// FuzzSubscriberRTCP: whatever a subscriber sends as RTCP, the down track and the estimator
// survive it.
func FuzzSubscriberRTCP(f *testing.F) {
	seeds := [][]rtcp.Packet{
		{&rtcp.ReceiverReport{SSRC: 1, Reports: []rtcp.ReceptionReport{{SSRC: 7, LastSenderReport: 5, Delay: 1}}}},
		{&rtcp.TransportLayerNack{MediaSSRC: 7, Nacks: []rtcp.NackPair{{PacketID: 1, LostPackets: 0xffff}}}},
		{&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: 1e6, SSRCs: []uint32{7}}},
		{&rtcp.TransportLayerCC{Header: twccHeader(5), MediaSSRC: 7, BaseSequenceNumber: 1, PacketStatusCount: 2,
			PacketChunks: []rtcp.PacketStatusChunk{&rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketReceivedSmallDelta, RunLength: 2}},
			RecvDeltas:   []*rtcp.RecvDelta{{Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 250}, {Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 500}}}},
	}
	for _, s := range seeds {
		b, err := rtcp.Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := testReceiver(vp8Codec, webrtc.RTPCodecTypeVideo, nil, 0)
		d := boundDownTrack(r, 7, &captureWriter{discard: true})
		feed(r, marshal(1, 0, true, vp8Key))
		d.HandleRTCP(unmarshalRTCP(b))
		est := bwe.New(1_000_000, bwe.MinEstimate, 10_000_000)
		est.OnSent(1, 1200)
		est.OnRTCP(time.Now(), b) // what the interceptor does on pion's path
		// Podium's read path, after decryption.
		est2 := bwe.New(1_000_000, bwe.MinEstimate, 10_000_000)
		est2.OnSent(1, 1200)
		tr := fastpath.New(fastpath.Params{Estimator: est2})
		d2 := NewDownTrack(r, DownTrackParams{Transport: tr})
		if _, err := d2.Bind(fakeContext{codecs: []webrtc.RTPCodecParameters{vp8Codec}, ssrc: 7, w: &captureWriter{discard: true}}); err != nil {
			t.Fatal(err)
		}
		tr.HandleRTCP(b, time.Now())
	})
}
