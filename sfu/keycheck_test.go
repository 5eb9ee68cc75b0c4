package sfu

import (
	"bytes"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/sfu/rewrite"
)

// logBuffer is a slog handler's output that tests read.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func warnLogger(b *logBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// flipped is keys with every byte of both master keys changed: what a derivation gone wrong
// would give.
func flipped(k *sessionKeys) *sessionKeys {
	c := *k
	c.key, c.remoteKey = bytes.Clone(k.key), bytes.Clone(k.remoteKey)
	for i := range c.key {
		c.key[i] ^= 0xff
	}
	for i := range c.remoteKey {
		c.remoteKey[i] ^= 0xff
	}
	return &c
}

// TestKeySelfCheck: keys Podium derived that do not decrypt the client's first RTCP packets are
// dropped with a warning, and the connection's media goes through pion from then on, which the
// client decrypts; keys that do decrypt them stay, and the connection stays on Podium's path.
func TestKeySelfCheck(t *testing.T) {
	for _, c := range []struct {
		name  string
		wrong bool
	}{{"right keys", false}, {"wrong keys", true}} {
		t.Run(c.name, func(t *testing.T) {
			var logs logBuffer
			cfg := Config{BindIP: "127.0.0.1", TCPPort: -1, LoopbackOnly: true, Logger: warnLogger(&logs)}
			if c.wrong {
				cfg.keyFilter = flipped
			}
			se, log := peerSettings(t)
			s := newSubscriberSetup(t, cfg, se, log, 1000)
			waitUntil(t, 5*time.Second, "Podium's path", s.tr.Owned)
			src := &source{seq: 1, ts: 90000}
			s.frames(t, src, 10, true) // under the wrong keys, noise to the client
			// The client's RTCP (the test peer has no interceptors to send any by itself).
			for range keyCheckFailures {
				if err := s.peer.pc.WriteRTCP([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: 1}}); err != nil {
					t.Fatal(err)
				}
			}
			waitUntil(t, 5*time.Second, "the client's RTCP to be read", func() bool {
				return s.tr.check.passed.Load() || !s.tr.Owned()
			})
			s.frames(t, src, 10, true)
			waitUntil(t, 5*time.Second, "the client to read what reached it", func() bool {
				return len(s.peer.received()) >= 10
			})
			got := s.peer.received()
			if c.wrong {
				if s.tr.Owned() {
					t.Fatal("wrong keys kept")
				}
				if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "do not decrypt") {
					t.Errorf("no warning; the log says %q", logs.String())
				}
				if len(got) != 10 || !bytes.Equal(got[0].Payload, vp8Key) {
					t.Errorf("the client decrypted %d packets, want the 10 sent through pion, a keyframe first", len(got))
				}
				if st := s.d.Stats(); st.Direct != 10 || st.Packets != 20 {
					t.Errorf("stats %+v: want 10 of 20 packets on Podium's path", st)
				}
				return
			}
			if !s.tr.Owned() || s.tr.RTCPTaken() != keyCheckFailures {
				t.Fatalf("owned %v after %d RTCP packets: want Podium's path, having read %d", s.tr.Owned(), s.tr.RTCPTaken(), keyCheckFailures)
			}
			if len(got) != 20 || logs.String() != "" {
				t.Errorf("the client decrypted %d packets, want 20; log %q", len(got), logs.String())
			}
		})
	}
}

// TestKeySelfCheckKeepsWrappedStreams: keys that fail the self-check are kept when a stream
// Podium encrypted has wrapped: pion's context, starting again at rollover counter 0, would
// reuse its indexes, were the keys right after all.
func TestKeySelfCheckKeepsWrappedStreams(t *testing.T) {
	sock := mediaSocket(t)
	var logs logBuffer
	for _, c := range []struct {
		name    string
		first   uint16
		abandon bool
	}{{"not wrapped", 1000, true}, {"wrapped", 65530, false}} {
		t.Run(c.name, func(t *testing.T) {
			r := testReceiver(vp8Codec, webrtc.RTPCodecTypeVideo, nil, 0)
			keys := testKeys()
			sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			defer sink.Close()
			d := directDownTrack(t, r, 4242, sock, sink, keys, nil)
			d.transport.log = warnLogger(&logs)
			d.munger = rewrite.New(c.first, 0)
			for i := range 10 {
				payload := vp8Delta
				if i == 0 {
					payload = vp8Key
				}
				feed(r, marshal(uint16(100+i), uint32(i)*3000, true, payload))
			}
			if d.Stats().Direct != 10 {
				t.Fatalf("%d packets on Podium's path, want 10", d.Stats().Direct)
			}
			for range keyCheckFailures {
				d.transport.keysFailed(keys)
			}
			if abandoned := !d.transport.Owned(); abandoned != c.abandon {
				t.Fatalf("abandoned %v, want %v", abandoned, c.abandon)
			}
			if _, remembered := d.lookup(c.first + 5); remembered == c.abandon {
				t.Errorf("record of what was sent kept %v, want %v (no retransmission through pion)", remembered, !c.abandon)
			}
		})
	}
}
