package pionapi

import (
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/logging"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// TestAMissingPacketIsAskedForTenTimes: the client's NACK generator asks for a packet that
// never comes maxNACKsPerPacket times, then gives up. Unbounded (pion's default), a few packets
// lost inside a client while 25 joined at once were asked for ten times a second for the rest
// of the run: 10,000-78,000 NACKed sequence numbers in a 10 s podium load window, none after.
// The generator ticks every 2 ms here instead of 100 ms, so its cap, not the test's time,
// decides the count.
func TestAMissingPacketIsAskedForTenTimes(t *testing.T) {
	f, err := nack.NewGeneratorInterceptor(append(nackGeneratorOptions(logging.NewDefaultLoggerFactory()),
		nack.GeneratorInterval(2*time.Millisecond))...)
	if err != nil {
		t.Fatal(err)
	}
	g, err := f.NewInterceptor("")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = g.Close() }()
	var mu sync.Mutex
	asked := 0
	g.BindRTCPWriter(interceptor.RTCPWriterFunc(func(pkts []rtcp.Packet, _ interceptor.Attributes) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range pkts {
			if n, ok := p.(*rtcp.TransportLayerNack); ok {
				for _, pair := range n.Nacks {
					for _, seq := range pair.PacketList() {
						if seq == 101 {
							asked++
						}
					}
				}
			}
		}
		return 0, nil
	}))
	info := &interceptor.StreamInfo{SSRC: 7, MimeType: "video/VP8", ClockRate: 90000,
		RTCPFeedback: []interceptor.RTCPFeedback{{Type: "nack"}}}
	next := uint16(100)
	src := interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: next, SSRC: 7}, Payload: []byte{1}}
		if next == 100 {
			next = 102 // 101 never comes
		} else {
			next++
		}
		n, err := p.MarshalTo(b)
		return n, a, err
	})
	r := g.BindRemoteStream(info, src)
	buf := make([]byte, 1500)
	for range 3 {
		if _, _, err := r.Read(buf, nil); err != nil {
			t.Fatal(err)
		}
	}
	// 300 ms is 150 of the generator's ticks: far more than the cap.
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if asked != maxNACKsPerPacket {
		t.Errorf("the missing packet was asked for %d times, want %d", asked, maxNACKsPerPacket)
	}
}
