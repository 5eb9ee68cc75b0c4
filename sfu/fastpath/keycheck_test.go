package fastpath

import (
	"log/slog"
	"net"
	"testing"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// fakeTrack records what the read path and the self-check do to a down track.
type fakeTrack struct {
	rtcp   []rtcp.Packet
	forgot bool
}

func (f *fakeTrack) HandleRTCP(p rtcp.Packet) { f.rtcp = append(f.rtcp, p) }
func (f *fakeTrack) ForgetSent()              { f.forgot = true }

// TestKeySelfCheckKeepsWrappedStreams: keys that fail the self-check are kept when a stream
// Podium encrypted has wrapped: pion's context, starting again at rollover counter 0, would
// reuse its indexes, were the keys right after all. When they are dropped, the down tracks
// forget what they sent, so that no retransmission repeats an index through pion.
func TestKeySelfCheckKeepsWrappedStreams(t *testing.T) {
	sock := mediaSocket(t)
	for _, c := range []struct {
		name    string
		first   uint16
		abandon bool
	}{{"not wrapped", 1000, true}, {"wrapped", 65530, false}} {
		t.Run(c.name, func(t *testing.T) {
			sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			defer sink.Close()
			keys := testKeys()
			tr := New(Params{Logger: slog.New(slog.DiscardHandler)})
			tr.Own(keys, sock, sink.LocalAddr().(*net.UDPAddr).AddrPort())
			track := &fakeTrack{}
			s := tr.Bind(nil, 4242, 0, nil, track)
			var sc Scratch
			for i := range 10 {
				h := &rtp.Header{Version: 2, PayloadType: 96, SSRC: 4242, SequenceNumber: c.first + uint16(i), Timestamp: uint32(i) * 3000}
				if ok, direct := s.WriteRTP(&sc, h, []byte{1, 2, 3}, nil); !ok || !direct {
					t.Fatalf("packet %d: sent %v, on Podium's path %v", i, ok, direct)
				}
			}
			for range KeyCheckFailures {
				tr.keysFailed(keys)
			}
			if abandoned := !tr.Owned(); abandoned != c.abandon {
				t.Fatalf("abandoned %v, want %v", abandoned, c.abandon)
			}
			if track.forgot != c.abandon {
				t.Errorf("the down track forgot what it sent: %v, want %v (no retransmission through pion)", track.forgot, c.abandon)
			}
		})
	}
}
