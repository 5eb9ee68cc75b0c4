package sfu

import (
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// rtcpSink records what an interceptor writes.
type rtcpSink struct {
	mu    sync.Mutex
	nacks int
}

func (s *rtcpSink) Write(pkts []rtcp.Packet, _ interceptor.Attributes) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range pkts {
		if _, ok := p.(*rtcp.TransportLayerNack); ok {
			s.nacks++
		}
	}
	return 0, nil
}

func (s *rtcpSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nacks
}

// TestLazyStartRunsTheGeneratorOnceAStreamArrives: a wrapped NACK generator starts nothing for
// a connection without streams and, once one binds, NACKs its gaps as unwrapped.
func TestLazyStartRunsTheGeneratorOnceAStreamArrives(t *testing.T) {
	gen, err := nack.NewGeneratorInterceptor(nack.GeneratorInterval(10 * time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	i, err := lazily(gen).NewInterceptor("")
	if err != nil {
		t.Fatal(err)
	}
	defer i.Close()
	sink := &rtcpSink{}
	i.BindRTCPWriter(sink)
	if l := i.(*lazyStart); l.started.Load() {
		t.Fatal("the generator started without a stream")
	}
	seqs := []uint16{1, 2, 5, 6} // 3 and 4 are missing
	next := 0
	reader := i.BindRemoteStream(&interceptor.StreamInfo{SSRC: 7, RTCPFeedback: []interceptor.RTCPFeedback{{Type: "nack"}}},
		interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
			h := rtp.Header{Version: 2, SSRC: 7, SequenceNumber: seqs[next]}
			next++
			n, err := h.MarshalTo(b)
			return n, a, err
		}))
	buf := make([]byte, 1500)
	for range seqs {
		if _, _, err := reader.Read(buf, nil); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for sink.count() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if sink.count() == 0 {
		t.Fatal("no NACK for the missing packets")
	}
}
