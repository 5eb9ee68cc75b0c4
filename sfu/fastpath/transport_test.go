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
