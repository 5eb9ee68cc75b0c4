package fastpath

import (
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"

	"github.com/podium-sfu/podium/sfu/feedback"
)

// rtcpSink records what pion's RTCP writer is given.
type rtcpSink struct {
	mu   sync.Mutex
	pkts []rtcp.Packet
}

func (s *rtcpSink) Write(pkts []rtcp.Packet, _ interceptor.Attributes) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pkts = append(s.pkts, pkts...)
	return 0, nil
}

func (s *rtcpSink) take() []rtcp.Packet {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pkts
	s.pkts = nil
	return p
}

// upPacket is a marshalled RTP packet with a transport-wide sequence number (extension id 3).
func upPacket(t testing.TB, ssrc uint32, seq uint16, ts uint32, twccSeq uint16) []byte {
	t.Helper()
	h := rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: ts, SSRC: ssrc}
	ext, _ := (&rtp.TransportCCExtension{TransportSequence: twccSeq}).Marshal()
	if err := h.SetExtension(3, ext); err != nil {
		t.Fatal(err)
	}
	b, err := (&rtp.Packet{Header: h, Payload: []byte{1, 2, 3}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestUpstreamFeedbackOnPodiumsPath: while the connection's Transport is ready, the feedback
// and the NACK of a new gap are encrypted and sent on Podium's own path, with an SSRC pion's
// session never uses (each SRTCP context numbers its SSRCs' packets on its own): the publisher
// decrypts them with the connection's keys, and pion's writer gets nothing. When the Transport
// is not ready, they go through pion, with the other SSRC.
func TestUpstreamFeedbackOnPodiumsPath(t *testing.T) {
	publisher, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer publisher.Close()
	keys := testKeys()
	tr := &Transport{}
	tr.keys.Store(keys)
	tr.connected.Store(true)
	tr.setRoute(&route{sock: mediaSocket(t), addr: publisher.LocalAddr().(*net.UDPAddr).AddrPort()})

	var u *feedback.Upstream
	i, err := feedback.InterceptorFactory{OnNew: func(_ string, x *feedback.Upstream) { u = x }}.NewInterceptor("pc")
	if err != nil {
		t.Fatal(err)
	}
	defer i.Close()
	pionSSRC, directSSRC := u.SSRCs()
	if directSSRC == pionSSRC {
		t.Fatal("one SSRC for both paths")
	}
	pion := &rtcpSink{}
	i.BindRTCPWriter(pion)
	u.WriteDirect(tr.writeRTCP)
	u.AddStream(7, 90000, 3)
	for _, seq := range []uint16{0, 1, 2, 5} { // 3 and 4 are lost: NACKed at once
		u.OnRTP(upPacket(t, 7, seq, uint32(seq)*3000, 100+seq), time.Now().UnixNano())
	}

	dec, err := srtp.CreateContext(keys.Key, keys.Salt, keys.Profile)
	if err != nil {
		t.Fatal(err)
	}
	var fb *rtcp.TransportLayerCC
	var nack *rtcp.TransportLayerNack
	buf := make([]byte, 1500)
	for fb == nil || nack == nil {
		_ = publisher.SetReadDeadline(time.Now().Add(3 * time.Second))
		n, err := publisher.Read(buf)
		if err != nil {
			t.Fatalf("on Podium's path: feedback %v, NACK %v: %v", fb, nack, err)
		}
		plain, err := dec.DecryptRTCP(nil, buf[:n], nil)
		if err != nil {
			t.Fatalf("decrypt: %v", err)
		}
		pkts, err := rtcp.Unmarshal(plain)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pkts {
			switch p := p.(type) {
			case *rtcp.TransportLayerCC:
				fb = p
			case *rtcp.TransportLayerNack:
				nack = p
			}
		}
	}
	if fb.MediaSSRC != 7 || fb.SenderSSRC != directSSRC || fb.BaseSequenceNumber != 100 || fb.PacketStatusCount != 6 {
		t.Errorf("feedback %+v: want from SSRC %d, for 100-105 of 7", fb, directSSRC)
	}
	if nack.MediaSSRC != 7 || nack.SenderSSRC != directSSRC || len(nack.Nacks) != 1 || !slices.Equal(nack.Nacks[0].PacketList(), []uint16{3, 4}) {
		t.Errorf("NACK %+v: want 3 and 4 of 7 from SSRC %d", nack, directSSRC)
	}
	if got := pion.take(); len(got) != 0 {
		t.Errorf("pion's writer got %d packets while Podium's path was ready", len(got))
	}

	tr.Disconnect() // DTLS closed: back to pion
	u.OnRTP(upPacket(t, 7, 6, 18000, 106), time.Now().UnixNano())
	deadline := time.Now().Add(3 * time.Second)
	for fb = nil; fb == nil && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		for _, p := range pion.take() {
			if p, ok := p.(*rtcp.TransportLayerCC); ok {
				fb = p
			}
		}
	}
	if fb == nil || fb.BaseSequenceNumber != 106 || fb.SenderSSRC != pionSSRC {
		t.Fatalf("through pion: %+v, want feedback for 106 from SSRC %d", fb, pionSSRC)
	}
}
