package sfu

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/sfu/bwe"
)

// TestREMBIsTheFallbackEstimate: a subscriber without transport-wide feedback that sends REMB
// gets its REMB as the estimate (and so as the allocator's budget); once transport-wide feedback
// arrives the send-side estimate wins; an old REMB no longer counts.
func TestREMBIsTheFallbackEstimate(t *testing.T) {
	for _, withBWE := range []bool{true, false} {
		eng, err := NewEngine(Config{LoopbackOnly: true, TCPPort: -1, BandwidthEstimation: withBWE, SocketBuffer: -1})
		if err != nil {
			t.Fatal(err)
		}
		pc, err := eng.NewPeerConnection()
		if err != nil {
			t.Fatal(err)
		}
		d := NewDownTrack(testReceiver(vp8Codec, webrtc.RTPCodecTypeVideo, nil, 0), DownTrackParams{TrackID: "TR_v", StreamID: "PA_p"})
		if _, err := pc.AddTransceiverFromTrack(d, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			t.Fatal(err)
		}
		want := -1
		if withBWE {
			want = eng.Config().InitialBitrate
		}
		if got := eng.Estimate(pc); got != want {
			t.Errorf("bwe %v: estimate before any feedback %d, want %d", withBWE, got, want)
		}
		d.HandleRTCP([]rtcp.Packet{&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: 640_000, SSRCs: []uint32{1}}})
		if got := eng.Estimate(pc); got != 640_000 {
			t.Errorf("bwe %v: estimate with a REMB of 640 kbps and no transport-wide feedback: %d", withBWE, got)
		}
		d.recordREMB(500_000, time.Now().Add(-rembMaxAge-time.Second))
		if got := eng.Estimate(pc); got != want {
			t.Errorf("bwe %v: estimate with a stale REMB %d, want %d", withBWE, got, want)
		}
		if withBWE {
			d.HandleRTCP([]rtcp.Packet{&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: 640_000, SSRCs: []uint32{1}}})
			v, _ := eng.estimators.Load(pc.ID())
			est := v.(*bwe.Estimator)
			for i := uint16(0); i < 20; i++ {
				est.OnSent(i, 1000)
			}
			raw, err := receivedAll(0, 20).Marshal()
			if err != nil {
				t.Fatal(err)
			}
			// as the interceptor sees it: a compound packet with a receiver report first
			rr, _ := (&rtcp.ReceiverReport{SSRC: 9}).Marshal()
			est.OnRTCP(time.Now(), append(rr, raw...))
			if got := eng.Estimate(pc); got != est.GetTargetBitrate() || got == 640_000 {
				t.Errorf("estimate with transport-wide feedback %d, want the send-side %d", got, est.GetTargetBitrate())
			}
		}
		_ = pc.Close()
		_ = eng.Close()
	}
}

// receivedAll is transport-wide feedback saying that the n packets from first arrived 1 ms
// apart.
func receivedAll(first uint16, n int) *rtcp.TransportLayerCC {
	fb := &rtcp.TransportLayerCC{BaseSequenceNumber: first, PacketStatusCount: uint16(n),
		PacketChunks: []rtcp.PacketStatusChunk{&rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketReceivedSmallDelta, RunLength: uint16(n)}}}
	for range n {
		fb.RecvDeltas = append(fb.RecvDeltas, &rtcp.RecvDelta{Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 1000})
	}
	fb.Header = rtcp.Header{Count: rtcp.FormatTCC, Type: rtcp.TypeTransportSpecificFeedback}
	fb.Header.Padding = fb.MarshalSize()%4 != 0
	fb.Header.Length = uint16((fb.MarshalSize()+3)/4 - 1)
	return fb
}
