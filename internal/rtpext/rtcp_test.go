package rtpext

import (
	"testing"

	"github.com/pion/rtcp"
)

// TestSplitRTCP: a compound packet splits into its packets; a length beyond the end stops the
// walk after what came before it.
func TestSplitRTCP(t *testing.T) {
	b, err := rtcp.Marshal([]rtcp.Packet{
		&rtcp.ReceiverReport{SSRC: 1},
		&rtcp.PictureLossIndication{SenderSSRC: 1, MediaSSRC: 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for part, rest, ok := SplitRTCP(b); ok; part, rest, ok = SplitRTCP(rest) {
		sizes = append(sizes, len(part))
	}
	if len(sizes) != 2 || sizes[0] != 8 || sizes[1] != 12 {
		t.Errorf("parts of %v bytes, want 8 and 12", sizes)
	}
	b[8+3] = 200 // the PLI claims 804 bytes
	sizes = nil
	for part, rest, ok := SplitRTCP(b); ok; part, rest, ok = SplitRTCP(rest) {
		sizes = append(sizes, len(part))
	}
	if len(sizes) != 1 {
		t.Errorf("parts of %v bytes after a bad length, want only the first", sizes)
	}
}

// TestIsTWCC: transport-wide feedback as pion marshals it is told from the other feedback.
func TestIsTWCC(t *testing.T) {
	b, err := rtcp.Marshal([]rtcp.Packet{
		&rtcp.TransportLayerNack{MediaSSRC: 2, Nacks: []rtcp.NackPair{{PacketID: 1}}},
		&rtcp.TransportLayerCC{Header: rtcp.Header{Count: rtcp.FormatTCC, Type: rtcp.TypeTransportSpecificFeedback, Length: 5},
			MediaSSRC: 2, BaseSequenceNumber: 1, PacketStatusCount: 1,
			PacketChunks: []rtcp.PacketStatusChunk{&rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketReceivedSmallDelta, RunLength: 1}},
			RecvDeltas:   []*rtcp.RecvDelta{{Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 250}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []bool
	for part, rest, ok := SplitRTCP(b); ok; part, rest, ok = SplitRTCP(rest) {
		got = append(got, IsTWCC(part))
	}
	if len(got) != 2 || got[0] || !got[1] {
		t.Errorf("IsTWCC of a NACK and a TWCC packet: %v, want [false true]", got)
	}
}
