package bwe

import (
	"testing"

	"github.com/pion/rtcp"
)

type twccStatus struct {
	seq, sym uint16
	delta    int64
}

// viaPion walks a feedback packet as pion parses it.
func viaPion(fb *rtcp.TransportLayerCC) []twccStatus {
	var out []twccStatus
	seq, remaining, deltas := fb.BaseSequenceNumber, int(fb.PacketStatusCount), fb.RecvDeltas
	emit := func(sym uint16) {
		st := twccStatus{seq: seq, sym: sym}
		if (sym == twccSmallDelta || sym == twccLargeDelta) && len(deltas) > 0 {
			st.delta, deltas = deltas[0].Delta, deltas[1:]
		}
		out = append(out, st)
		seq++
		remaining--
	}
	for _, c := range fb.PacketChunks {
		switch c := c.(type) {
		case *rtcp.RunLengthChunk:
			for i := 0; i < int(c.RunLength) && remaining > 0; i++ {
				emit(c.PacketStatusSymbol)
			}
		case *rtcp.StatusVectorChunk:
			for _, sym := range c.SymbolList {
				if remaining <= 0 {
					break
				}
				emit(sym)
			}
		}
	}
	return out
}

func viaPodium(b []byte) ([]twccStatus, bool) {
	rep, ok := parseTWCC(b)
	if !ok {
		return nil, false
	}
	var out []twccStatus
	rep.each(func(seq, sym uint16, delta int64) { out = append(out, twccStatus{seq, sym, delta}) })
	return out, true
}

func twccSeeds() []*rtcp.TransportLayerCC {
	seeds := []*rtcp.TransportLayerCC{
		{MediaSSRC: 7, BaseSequenceNumber: 65534, PacketStatusCount: 3, ReferenceTime: 0xabcdef,
			PacketChunks: []rtcp.PacketStatusChunk{&rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketReceivedSmallDelta, RunLength: 3}},
			RecvDeltas: []*rtcp.RecvDelta{{Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 250},
				{Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 0}, {Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 63750}}},
		{MediaSSRC: 7, BaseSequenceNumber: 10, PacketStatusCount: 7,
			PacketChunks: []rtcp.PacketStatusChunk{&rtcp.StatusVectorChunk{SymbolSize: rtcp.TypeTCCSymbolSizeTwoBit,
				SymbolList: []uint16{1, 0, 2, 1, 0, 0, 2}}},
			RecvDeltas: []*rtcp.RecvDelta{{Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 1000},
				{Type: rtcp.TypeTCCPacketReceivedLargeDelta, Delta: -8000}, {Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 500},
				{Type: rtcp.TypeTCCPacketReceivedLargeDelta, Delta: 100000}}},
		{MediaSSRC: 7, BaseSequenceNumber: 300, PacketStatusCount: 16,
			PacketChunks: []rtcp.PacketStatusChunk{
				&rtcp.StatusVectorChunk{SymbolSize: rtcp.TypeTCCSymbolSizeOneBit, SymbolList: []uint16{1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}},
				&rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketNotReceived, RunLength: 2}},
			RecvDeltas: []*rtcp.RecvDelta{{Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 250},
				{Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 250}, {Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 750}}},
	}
	for _, fb := range seeds { // the header pion leaves to its caller
		fb.Header = rtcp.Header{Count: rtcp.FormatTCC, Type: rtcp.TypeTransportSpecificFeedback,
			Padding: fb.MarshalSize()%4 != 0, Length: uint16((fb.MarshalSize()+3)/4 - 1)}
	}
	return seeds
}

// TestTWCCParseMatchesPion: Podium's in-place reader sees what pion's parser sees.
func TestTWCCParseMatchesPion(t *testing.T) {
	for i, fb := range twccSeeds() {
		b, err := fb.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		var parsed rtcp.TransportLayerCC
		if err := parsed.Unmarshal(b); err != nil {
			t.Fatalf("seed %d: pion: %v", i, err)
		}
		got, ok := viaPodium(b)
		want := viaPion(&parsed)
		if !ok || len(got) != len(want) || len(got) != int(fb.PacketStatusCount) {
			t.Fatalf("seed %d: %d statuses (ok %v), pion %d", i, len(got), ok, len(want))
		}
		for k := range got {
			if got[k] != want[k] {
				t.Errorf("seed %d status %d: %+v, pion %+v", i, k, got[k], want[k])
			}
		}
	}
}

// TestTWCCReadDoesNotAllocate: reading a report costs no allocation.
func TestTWCCReadDoesNotAllocate(t *testing.T) {
	b, err := twccSeeds()[2].Marshal()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	if allocs := testing.AllocsPerRun(100, func() {
		rep, _ := parseTWCC(b)
		rep.each(func(_, _ uint16, _ int64) { n++ })
	}); allocs != 0 {
		t.Errorf("reading a report allocates %v times", allocs)
	}
}

// FuzzTWCC: any bytes are safe to read, and where pion parses a report too, both agree.
func FuzzTWCC(f *testing.F) {
	for _, fb := range twccSeeds() {
		b, err := fb.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := viaPodium(b)
		var parsed rtcp.TransportLayerCC
		if !ok || parsed.Unmarshal(b) != nil {
			return
		}
		want := viaPion(&parsed)
		if len(got) != len(want) {
			t.Fatalf("%d statuses, pion %d", len(got), len(want))
		}
		for k := range got {
			if got[k] != want[k] {
				t.Fatalf("status %d: %+v, pion %+v", k, got[k], want[k])
			}
		}
	})
}
