package sfu

import (
	"bytes"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/transport/v5/vnet"
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/sfu/codec"
	"github.com/podium-sfu/podium/sfu/fastpath"
	"github.com/podium-sfu/podium/sfu/pionlog"
)

// Two-peer tests on pion's virtual network (issue 16): a subscriber connection whose selected
// pair changes mid-call, with Podium as the DTLS server (its own path) and as the DTLS client
// (pion's, for the connection's life). vnet has no TCP: ICE-TCP is tested on loopback
// (icetcp_test.go).

const vnetServerIP = "10.0.0.1"

// vnetLAN is a virtual LAN: Podium at 10.0.0.1 and a client with two addresses (two paths, so
// that ICE has a pair to move to), behind a router that can cut one of the client's addresses
// off and keeps a copy of every RTP packet it delivers to the client.
type vnetLAN struct {
	server, client *vnet.Net
	log            *datagramLog
	cut            atomic.Value // string: the client address whose packets the router drops
}

func newVNetLAN(t *testing.T) *vnetLAN {
	t.Helper()
	router, err := vnet.NewRouter(&vnet.RouterConfig{CIDR: "10.0.0.0/24", LoggerFactory: pionlog.NewFactory(slog.New(slog.DiscardHandler))})
	if err != nil {
		t.Fatal(err)
	}
	l := &vnetLAN{log: &datagramLog{}}
	l.cut.Store("")
	if l.server, err = vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{vnetServerIP}}); err != nil {
		t.Fatal(err)
	}
	if l.client, err = vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{"10.0.0.2", "10.0.0.3"}}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*vnet.Net{l.server, l.client} {
		if err := router.AddNet(n); err != nil {
			t.Fatal(err)
		}
	}
	router.AddChunkFilter(l.filter)
	if err := router.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = router.Stop() })
	return l
}

func (l *vnetLAN) filter(c vnet.Chunk) bool {
	src, _ := c.SourceAddr().(*net.UDPAddr)
	dst, _ := c.DestinationAddr().(*net.UDPAddr)
	if src == nil || dst == nil {
		return true
	}
	if cut := l.cut.Load().(string); cut != "" && (src.IP.String() == cut || dst.IP.String() == cut) {
		return false
	}
	if src.IP.String() == vnetServerIP {
		l.log.add(c.UserData())
	}
	return true
}

// peerSettings is the client on the LAN, with UDP only.
func (l *vnetLAN) peerSettings() webrtc.SettingEngine {
	var se webrtc.SettingEngine
	se.SetNet(l.client)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.LoggerFactory = pionlog.NewFactory(slog.New(slog.DiscardHandler))
	return se
}

// selectedRemote is the client's address in the connection's selected pair ("" for none).
func selectedRemote(pc *webrtc.PeerConnection) string {
	p, err := pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || p == nil || p.Remote == nil {
		return ""
	}
	return p.Remote.Address
}

// TestPairSwitchMidCall: mid-call, after the down track's numbering wrapped, the client's
// address in the selected pair stops working and an ICE restart moves the pair to its other
// address. With Podium as the DTLS server the connection is Podium's and stays so (every packet
// through its context, the route following the pair); as the DTLS client it is pion's for its
// life. Either way the client decrypts every packet that reached it, each at the index it
// expects, none twice.
func TestPairSwitchMidCall(t *testing.T) {
	for _, c := range []struct {
		name         string
		podiumClient bool
	}{{"Podium as DTLS server", false}, {"Podium as DTLS client", true}} {
		t.Run(c.name, func(t *testing.T) {
			lan := newVNetLAN(t)
			se := lan.peerSettings()
			peerKeys := make(chan *fastpath.Keys, 1)
			if c.podiumClient {
				if err := se.SetAnsweringDTLSRole(webrtc.DTLSRoleServer); err != nil {
					t.Fatal(err)
				}
				// The client is the DTLS server: its keys, captured as Podium captures its own,
				// are what the audit decrypts with.
				capture := &fastpath.KeyCapture{OnKeys: func(k *fastpath.Keys) { peerKeys <- k }}
				capture.Capture(&se)
			}
			cfg := Config{BindIP: vnetServerIP, TCPPort: -1, vnet: lan.server}
			s := newSubscriberSetup(t, cfg, se, lan.log, 65536-100)
			waitUntil(t, 5*time.Second, "the path to be decided", s.tr.Decided)
			if s.tr.Owned() == c.podiumClient {
				t.Fatalf("Podium's path: %v, want %v", s.tr.Owned(), !c.podiumClient)
			}
			src := &source{seq: 1000, ts: 90000}
			s.frames(t, src, 300, true)
			first := selectedRemote(s.pc)
			lan.cut.Store(first)
			renegotiate(t, s.pc, s.peer.pc, &webrtc.OfferOptions{ICERestart: true})
			waitUntil(t, 20*time.Second, "ICE to select a pair through the client's other address", func() bool {
				r := selectedRemote(s.pc)
				return r != "" && r != first
			})
			second := selectedRemote(s.pc)
			if !c.podiumClient {
				waitUntil(t, 5*time.Second, "Podium's route to follow the pair", func() bool {
					addr, ok := s.tr.RemoteAddr()
					return ok && addr.Addr().String() == second
				})
			}
			s.frames(t, src, 100, true)

			keys := s.tr.Keys()
			if c.podiumClient {
				k := <-peerKeys
				keys = &fastpath.Keys{Profile: k.Profile, Key: k.RemoteKey, Salt: k.RemoteSalt}
			}
			sent := lan.log.packets()
			if len(sent) != 400 {
				t.Errorf("%d packets reached the client, want 400", len(sent))
			}
			reused, misplaced := indexAudit(keys, sent)
			reportSome(t, "at an index used before under the same key", reused)
			reportSome(t, "at an index the client does not expect", misplaced)
			waitUntil(t, 10*time.Second, "the client to read what reached it", func() bool {
				return len(s.peer.received()) >= len(sent)
			})
			keyframes := 0
			for _, p := range s.peer.received() {
				if w, h, ok := codec.VP8KeyframeSize(p.Payload); ok && w == 640 && h == 360 {
					keyframes++
				} else if !bytes.Equal(p.Payload, vp8Delta) {
					t.Fatalf("packet %d: payload %x", p.SequenceNumber, p.Payload)
				}
			}
			if keyframes != 2 {
				t.Errorf("the client decoded %d keyframes, want 2", keyframes)
			}
			st := s.d.Stats()
			wantDirect := uint64(400)
			if c.podiumClient {
				wantDirect = 0
			}
			if st.Direct != wantDirect {
				t.Errorf("%d packets on Podium's path, want %d", st.Direct, wantDirect)
			}
			t.Logf("pair moved from %s to %s; %d packets, %d on Podium's path", first, second, len(sent), st.Direct)
		})
	}
}
