package sfu

import (
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"
)

// TestEnginePerInterfaceSockets: bound to 0.0.0.0, the engine listens once per interface
// address, and Podium's write path sends from the socket of the candidate ICE selected.
func TestEnginePerInterfaceSockets(t *testing.T) {
	e, err := NewEngine(Config{BindIP: "0.0.0.0", TCPPort: -1, LoopbackOnly: true,
		interfaces: func() ([]net.IP, error) { return []net.IP{net.IPv4(127, 0, 0, 1), net.IPv4(127, 0, 0, 2)}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	one, two := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2")
	if len(e.sockets) != 2 || e.socketFor(one) == nil || e.socketFor(two) == nil || e.socketFor(one) == e.socketFor(two) {
		t.Fatalf("sockets %v", e.sockets)
	}
	tr := &Transport{socket: e.socketFor}
	pair := &webrtc.ICECandidatePair{
		Local:  &webrtc.ICECandidate{Protocol: webrtc.ICEProtocolUDP, Typ: webrtc.ICECandidateTypeHost, Address: "127.0.0.2", Port: 5000},
		Remote: &webrtc.ICECandidate{Protocol: webrtc.ICEProtocolUDP, Typ: webrtc.ICECandidateTypeHost, Address: "127.0.0.1", Port: 6000},
	}
	tr.selectPair(pair)
	if r := tr.route.Load(); r == nil || r.sock != e.socketFor(two) || r.addr != netip.MustParseAddrPort("127.0.0.1:6000") {
		t.Fatalf("route %+v", r)
	}
	pair.Local.Address = "10.9.9.9" // not one of ours: pion's path
	tr.selectPair(pair)
	if tr.route.Load() != nil {
		t.Error("a route through a socket Podium does not have")
	}
	pair.Local.Address, pair.Local.Protocol = "127.0.0.1", webrtc.ICEProtocolTCP
	tr.selectPair(pair)
	if tr.route.Load() != nil {
		t.Error("a UDP route for an ICE-TCP pair")
	}
}

// TestSubscriberOfferHasNoCryptex: the subscriber connection does not offer header-extension
// encryption, which Podium's send path does not do; the publisher connection accepts it.
func TestSubscriberOfferHasNoCryptex(t *testing.T) {
	e, err := NewEngine(Config{BindIP: "127.0.0.1", TCPPort: -1, LoopbackOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, c := range []struct {
		name    string
		open    func() (*webrtc.PeerConnection, *Transport, error)
		cryptex bool
	}{{"subscriber", e.NewSubscriberConnection, false}, {"publisher", e.NewPublisherConnection, true}} {
		pc, _, err := c.open()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo); err != nil {
			t.Fatal(err)
		}
		offer, err := pc.CreateOffer(nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(offer.SDP, "a=cryptex"); got != c.cryptex {
			t.Errorf("%s connection offers cryptex: %v, want %v", c.name, got, c.cryptex)
		}
		_ = pc.Close()
	}
}
