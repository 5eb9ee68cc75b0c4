package sfu

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/sfu/codec"
	"github.com/podium-sfu/podium/sfu/fastpath"
)

// srtpIndex is where a packet sits in its stream's SRTP numbering: with the key, the SSRC, the
// rollover counter and the sequence number make the packet's IV (AES-CM: its keystream; AES-GCM:
// its nonce). Two packets at one index under one key is a reuse.
type srtpIndex struct {
	ssrc, roc uint32
	seq       uint16
}

func (x srtpIndex) String() string { return fmt.Sprintf("ssrc %d roc %d seq %d", x.ssrc, x.roc, x.seq) }

// indexAudit finds the index each packet was encrypted at by decrypting it with the sending keys
// at each rollover counter in turn, and checks it against the receiver's view: the packets in
// the order they arrived, numbered by extending their sequence numbers (as a receiver does, RFC
// 3711 appendix A), must each sit at the index that numbering gives, and no index may come twice.
// It returns the indexes used twice and the packets at another index than the receiver's.
func indexAudit(keys *fastpath.Keys, pkts [][]byte) (reused, misplaced []string) {
	seen := map[srtpIndex]int{}
	ext := map[uint32]int64{} // per SSRC: the extended sequence number of the newest packet
	for i, p := range pkts {
		ssrc, seq := binary.BigEndian.Uint32(p[8:12]), binary.BigEndian.Uint16(p[2:4])
		want := int64(seq)
		if last, ok := ext[ssrc]; ok {
			want = last + int64(int16(seq-uint16(last)))
		}
		ext[ssrc] = max(ext[ssrc], want)
		roc := -1
		for r := range 4 {
			ctx, err := srtp.CreateContext(keys.Key, keys.Salt, keys.Profile)
			if err != nil {
				return []string{err.Error()}, nil
			}
			ctx.SetROC(ssrc, uint32(r))
			if _, err := ctx.DecryptRTP(nil, p, nil); err == nil {
				roc = r
				break
			}
		}
		if roc < 0 {
			misplaced = append(misplaced, fmt.Sprintf("packet %d (ssrc %d seq %d) decrypts at no rollover counter 0-3", i, ssrc, seq))
			continue
		}
		x := srtpIndex{ssrc: ssrc, roc: uint32(roc), seq: seq}
		if first, ok := seen[x]; ok {
			reused = append(reused, fmt.Sprintf("packet %d reuses the index of packet %d: %v", i, first, x))
		}
		seen[x] = i
		if int64(roc) != want>>16 {
			misplaced = append(misplaced, fmt.Sprintf("packet %d is at %v, but the receiver expects roc %d: it cannot decrypt it", i, x, want>>16))
		}
	}
	return reused, misplaced
}

// reportSome reports the first few of a list of problems, and how many there are.
func reportSome(t *testing.T, what string, problems []string) {
	t.Helper()
	if len(problems) == 0 {
		return
	}
	t.Errorf("%d packets %s:", len(problems), what)
	for _, p := range problems[:min(len(problems), 5)] {
		t.Error("  " + p)
	}
}

// TestOneSRTPContextPerStreamAcrossRouteChanges (issue 16): a down track's numbering wraps, then
// the connection's selected pair moves off Podium's sockets (onto ICE-TCP, or onto a socket
// Podium does not own) for media and a whole cycle of padding, and back. Every packet that
// reached the client sits at the index the client expects, no index comes twice under the
// connection's key, and the client decrypts everything it got, the keyframe it resumed at
// included. Off Podium's sockets the down track held its media, numbering nothing.
//
// Before the fix each packet took Podium's SRTP context or pion's by the route of the moment,
// each context with its own rollover counter: pion's encrypted after the wrap at rollover counter
// 0 (the client, at 1, decrypted none of it), and a cycle later at the indexes Podium's had
// used (with AES-GCM, a nonce used twice leaks the authentication key).
func TestOneSRTPContextPerStreamAcrossRouteChanges(t *testing.T) {
	loopback := Config{BindIP: "127.0.0.1", TCPPort: -1, LoopbackOnly: true}
	twoSockets := Config{BindIP: "0.0.0.0", TCPPort: -1, LoopbackOnly: true, // an unknown address is no socket of Podium's
		interfaces: func() ([]net.IP, error) { return []net.IP{net.IPv4(127, 0, 0, 1), net.IPv4(127, 0, 0, 2)}, nil }}
	for _, c := range []struct {
		name string
		cfg  Config
		away func(p webrtc.ICECandidatePair) *webrtc.ICECandidatePair
	}{
		{"ICE-TCP", loopback, func(p webrtc.ICECandidatePair) *webrtc.ICECandidatePair {
			l := *p.Local
			l.Protocol = webrtc.ICEProtocolTCP
			return webrtc.NewICECandidatePair(&l, p.Remote)
		}},
		{"a socket Podium does not own", twoSockets, func(p webrtc.ICECandidatePair) *webrtc.ICECandidatePair {
			l := *p.Local
			l.Address = "10.9.9.9"
			return webrtc.NewICECandidatePair(&l, p.Remote)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			se, log := peerSettings(t)
			const first = 65536 - 100 // the numbering wraps after 100 packets
			s := newSubscriberSetup(t, c.cfg, se, log, first)
			pair, err := s.pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
			if err != nil || pair == nil {
				t.Fatalf("no selected pair: %v", err)
			}
			waitUntil(t, 5*time.Second, "Podium's path", s.tr.Owned)
			src := &source{seq: 1000, ts: 90000}
			s.frames(t, src, 300, true) // across the wrap, on Podium's path
			s.tr.SelectPair(c.away(*pair))
			// Off Podium's sockets: media, then a whole cycle of padding (probes). Padding rather
			// than media: rewrite.Munger drops a layer's packets from 32768 after a switch on.
			s.frames(t, src, 300, false)
			s.padding(t, 65536)
			s.tr.SelectPair(pair)
			s.frames(t, src, 100, true)
			keys := s.tr.Keys()
			if keys == nil {
				t.Fatal("the connection is no longer Podium's")
			}
			if held := s.tr.Held(); held != 300 {
				t.Errorf("%d packets held while the route was away, want the 300 frames (padding is not even numbered)", held)
			}
			sent := log.packets()
			if len(sent) != 400 {
				t.Errorf("the client got %d packets, want the 400 sent on Podium's path", len(sent))
			}
			reused, misplaced := indexAudit(keys, sent)
			reportSome(t, "at an index used before under the same key", reused)
			reportSome(t, "at an index the client does not expect", misplaced)
			waitUntil(t, 10*time.Second, "the client to read what reached it", func() bool {
				return len(s.peer.received()) >= len(sent)
			})
			got := s.peer.received()
			keyframes := 0
			media := 0
			for _, p := range got {
				if p.Padding && len(p.Payload) == 0 {
					continue
				}
				media++
				if w, h, ok := codec.VP8KeyframeSize(p.Payload); ok {
					keyframes++
					if w != 640 || h != 360 {
						t.Errorf("a keyframe of %dx%d, want 640x360", w, h)
					}
				} else if !bytes.Equal(p.Payload, vp8Delta) {
					t.Fatalf("packet %d: payload %x", p.SequenceNumber, p.Payload)
				}
			}
			if keyframes != 2 {
				t.Errorf("the client decoded %d keyframes, want 2 (the first, and the one after the route came back)", keyframes)
			}
			t.Logf("%d packets reached the client, which decrypted %d (%d media)", len(sent), len(got), media)
		})
	}
}
