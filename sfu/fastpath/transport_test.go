package fastpath

import (
	"net/netip"
	"testing"

	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/sfu/udpsock"
)

// TestSelectPair: Podium's write path sends from the socket of the local candidate ICE
// selected, to its remote side; a pair on no socket of Podium's, or an ICE-TCP one, has no
// route.
func TestSelectPair(t *testing.T) {
	one, two := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2")
	sockets := map[netip.Addr]*udpsock.Socket{one: {}, two: {}}
	tr := New(Params{Socket: func(a netip.Addr) *udpsock.Socket { return sockets[a] }})
	pair := &webrtc.ICECandidatePair{
		Local:  &webrtc.ICECandidate{Protocol: webrtc.ICEProtocolUDP, Typ: webrtc.ICECandidateTypeHost, Address: "127.0.0.2", Port: 5000},
		Remote: &webrtc.ICECandidate{Protocol: webrtc.ICEProtocolUDP, Typ: webrtc.ICECandidateTypeHost, Address: "127.0.0.1", Port: 6000},
	}
	tr.SelectPair(pair)
	if r := tr.route.Load(); r == nil || r.sock != sockets[two] || r.addr != netip.MustParseAddrPort("127.0.0.1:6000") {
		t.Fatalf("route %+v", r)
	}
	pair.Local.Address = "10.9.9.9" // not one of ours: pion's path
	tr.SelectPair(pair)
	if tr.route.Load() != nil {
		t.Error("a route through a socket Podium does not have")
	}
	pair.Local.Address, pair.Local.Protocol = "127.0.0.1", webrtc.ICEProtocolTCP
	tr.SelectPair(pair)
	if tr.route.Load() != nil {
		t.Error("a UDP route for an ICE-TCP pair")
	}
	pair.Local.Protocol, pair.Local.Typ = webrtc.ICEProtocolUDP, webrtc.ICECandidateTypeRelay
	tr.SelectPair(pair)
	if tr.route.Load() != nil {
		t.Error("a route for a relayed pair")
	}
}

// TestBindAgainKeepsTheStream: a down track bound again under its SSRC keeps its stream, and
// with it its SRTP context (a new one would count the rollover counter from 0 again); under
// another SSRC it gets a new one. Bound, it is found by its SSRC for RTCP; unbound, not.
func TestBindAgainKeepsTheStream(t *testing.T) {
	tr := New(Params{})
	track := &fakeTrack{}
	s := tr.Bind(nil, 7, 0, nil, track)
	if (*tr.tracks.Load())[7] != s {
		t.Fatal("a bound stream is not found by its SSRC")
	}
	tr.Unbind(s)
	if (*tr.tracks.Load())[7] != nil {
		t.Fatal("an unbound stream is still found by its SSRC")
	}
	if again := tr.Bind(s, 7, 0, nil, track); again != s {
		t.Error("bound again under its SSRC, the track got a new stream")
	}
	if other := tr.Bind(s, 8, 0, nil, track); other == s {
		t.Error("bound under another SSRC, the track kept its stream")
	}
}
