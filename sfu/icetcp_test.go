package sfu

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/sfu/codec"
)

// ICE-TCP with a real pion client on loopback (pion's virtual network has no TCP), issue 16.

// selectedProtocol is the protocol of the connection's selected pair ("" for none).
func selectedProtocol(pc *webrtc.PeerConnection) webrtc.ICEProtocol {
	p, err := pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || p == nil || p.Local == nil {
		return webrtc.ICEProtocolUnknown
	}
	return p.Local.Protocol
}

// checkMedia checks that the client decrypted n packets, keyframes keyframes (640x360) and the
// rest deltas.
func checkMedia(t *testing.T, s *subscriberSetup, n, keyframes int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); len(s.peer.received()) < n && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	got := s.peer.received()
	keys := 0
	for _, p := range got {
		if w, h, ok := codec.VP8KeyframeSize(p.Payload); ok && w == 640 && h == 360 {
			keys++
		} else if !bytes.Equal(p.Payload, vp8Delta) {
			t.Fatalf("packet %d: payload %x", p.SequenceNumber, p.Payload)
		}
	}
	if len(got) != n || keys != keyframes {
		t.Errorf("the client decrypted %d packets with %d keyframes, want %d with %d", len(got), keys, n, keyframes)
		for i := 1; i < len(got); i++ {
			if got[i].SequenceNumber != got[i-1].SequenceNumber+1 {
				t.Logf("gap: %d after %d (packet %d)", got[i].SequenceNumber, got[i-1].SequenceNumber, i)
			}
		}
	}
}

// TestICETCPClient: a client that reaches Podium over ICE-TCP only. Its connection is pion's for
// its life, and the client decrypts everything, across the numbering's wrap.
func TestICETCPClient(t *testing.T) {
	var se webrtc.SettingEngine
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeTCP4})
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	s := newSubscriberSetup(t, Config{BindIP: "127.0.0.1", TCPPort: 0, LoopbackOnly: true}, se, nil, 65536-100)
	waitUntil(t, 5*time.Second, "the path to be decided", s.tr.Decided)
	if p := selectedProtocol(s.pc); p != webrtc.ICEProtocolTCP {
		t.Fatalf("selected pair over %v, want TCP", p)
	}
	if s.tr.Owned() {
		t.Fatal("an ICE-TCP connection on Podium's path")
	}
	s.frames(t, &source{seq: 1000, ts: 90000}, 300, true)
	checkMedia(t, s, 300, 1)
	if st := s.d.Stats(); st.Direct != 0 || st.Packets != 300 {
		t.Errorf("stats %+v: want 300 packets, none on Podium's path", st)
	}
}

// TestUDPToICETCPAndBack: mid-call, after the numbering wrapped, the client's UDP stops working
// and an ICE restart moves the connection onto ICE-TCP, then UDP works again and another restart
// moves it back. The connection stays Podium's: on ICE-TCP its down track holds the media
// (nothing through pion's context), and it resumes on UDP at a keyframe. Every packet that
// reached the client sits at the index it expects, none twice, and the client decrypts them all.
func TestUDPToICETCPAndBack(t *testing.T) {
	se, log := peerSettings(t)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeTCP4})
	s := newSubscriberSetup(t, Config{BindIP: "127.0.0.1", TCPPort: 0, LoopbackOnly: true}, se, log, 65536-100)
	waitUntil(t, 5*time.Second, "Podium's path", s.tr.Owned)
	if p := selectedProtocol(s.pc); p != webrtc.ICEProtocolUDP {
		t.Fatalf("selected pair over %v, want UDP first", p)
	}
	src := &source{seq: 1000, ts: 90000}
	s.frames(t, src, 300, true)

	log.blocked.Store(true)
	renegotiate(t, s.pc, s.peer.pc, &webrtc.OfferOptions{ICERestart: true})
	waitUntil(t, 20*time.Second, "ICE-TCP", func() bool { return selectedProtocol(s.pc) == webrtc.ICEProtocolTCP })
	waitUntil(t, 5*time.Second, "the route to go", func() bool { return !s.tr.Routed() })
	s.frames(t, src, 100, true)

	log.blocked.Store(false)
	// ICE nominates the first pair that works: the UDP one, nearly always; else again.
	for range 3 {
		renegotiate(t, s.pc, s.peer.pc, &webrtc.OfferOptions{ICERestart: true})
		deadline := time.Now().Add(10 * time.Second)
		for selectedProtocol(s.pc) != webrtc.ICEProtocolUDP && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if selectedProtocol(s.pc) == webrtc.ICEProtocolUDP {
			break
		}
	}
	waitUntil(t, 5*time.Second, "UDP and Podium's route again", func() bool {
		return selectedProtocol(s.pc) == webrtc.ICEProtocolUDP && s.tr.Routed()
	})
	s.frames(t, src, 100, true)

	if !s.tr.Owned() {
		t.Fatal("the connection is no longer Podium's")
	}
	sent := log.packets()
	if len(sent) != 400 {
		t.Errorf("%d packets reached the client, want 400 (300 before ICE-TCP, 100 after)", len(sent))
	}
	reused, misplaced := indexAudit(s.tr.Keys(), sent)
	reportSome(t, "at an index used before under the same key", reused)
	reportSome(t, "at an index the client does not expect", misplaced)
	checkMedia(t, s, 400, 2)
	if held, st := s.tr.Held(), s.d.Stats(); held != 100 || st.Direct != 400 {
		t.Errorf("%d packets held on ICE-TCP, %d on Podium's path: want 100 and 400", held, st.Direct)
	}
}
