package sfu

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"

	"github.com/podium-sfu/podium/sfu/fastpath"
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
func flipped(k *fastpath.Keys) *fastpath.Keys {
	c := *k
	c.Key, c.RemoteKey = bytes.Clone(k.Key), bytes.Clone(k.RemoteKey)
	for i := range c.Key {
		c.Key[i] ^= 0xff
	}
	for i := range c.RemoteKey {
		c.RemoteKey[i] ^= 0xff
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
			for range fastpath.KeyCheckFailures {
				if err := s.peer.pc.WriteRTCP([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: 1}}); err != nil {
					t.Fatal(err)
				}
			}
			waitUntil(t, 5*time.Second, "the client's RTCP to be read", func() bool {
				return s.tr.KeysPassed() || !s.tr.Owned()
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
			if !s.tr.Owned() || s.tr.RTCPTaken() != fastpath.KeyCheckFailures {
				t.Fatalf("owned %v after %d RTCP packets: want Podium's path, having read %d", s.tr.Owned(), s.tr.RTCPTaken(), fastpath.KeyCheckFailures)
			}
			if len(got) != 20 || logs.String() != "" {
				t.Errorf("the client decrypted %d packets, want 20; log %q", len(got), logs.String())
			}
		})
	}
}
