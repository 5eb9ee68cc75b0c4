package codec

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"io"
	"testing"

	"github.com/pion/webrtc/v4/pkg/media/ivfreader"

	"github.com/podium-sfu/podium/testmedia"
)

// Clear bytes that podium.js's e2ee option (web/static/e2ee-worker.js) leaves at the start of a
// VP8 frame; docs/e2ee.md. The server may read no further into the frame.
const (
	e2eeClearKeyframe = 10
	e2eeClearDelta    = 3
)

// sealVP8 encrypts a VP8 frame the way e2ee-worker.js does: clear prefix, AES-GCM ciphertext and
// tag with the prefix as additional data, the 12-byte IV, a key index.
func sealVP8(t *testing.T, aead cipher.AEAD, frame []byte, key bool) []byte {
	t.Helper()
	n := e2eeClearDelta
	if key {
		n = e2eeClearKeyframe
	}
	n = min(n, len(frame))
	iv := make([]byte, aead.NonceSize())
	if _, err := rand.Read(iv); err != nil {
		t.Fatal(err)
	}
	out := append([]byte(nil), frame[:n]...)
	out = aead.Seal(out, iv, frame[n:], frame[:n])
	return append(append(out, iv...), 0)
}

// TestVP8ParsersReadOnlyTheE2EEClearBytes: on every frame of a real 720p stream, encrypted as
// the browser's e2ee transform does, the server's keyframe check and keyframe size give what they
// give on the clear frame, in the first RTP packet of the frame.
func TestVP8ParsersReadOnlyTheE2EEClearBytes(t *testing.T) {
	block, err := aes.NewCipher(bytes.Repeat([]byte{7}, 16))
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	r, _, err := ivfreader.NewWith(bytes.NewReader(testmedia.VP8(1280)))
	if err != nil {
		t.Fatal(err)
	}
	desc := []byte{0x90, 0x80, 0x81, 0x23} // X, S, partition 0; 15-bit picture id
	firstPacket := func(frame []byte) []byte {
		return withDescriptor(desc, frame[:min(len(frame), 1100)])
	}
	frames, keys := 0, 0
	for {
		frame, _, err := r.ParseNextFrame()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		plain := firstPacket(frame)
		key := IsVP8Keyframe(plain)
		sealed := firstPacket(sealVP8(t, aead, frame, key))
		if bytes.Equal(sealed[len(desc)+e2eeClearKeyframe:], plain[len(desc)+e2eeClearKeyframe:]) {
			t.Fatalf("frame %d: not encrypted", frames)
		}
		if got := IsVP8Keyframe(sealed); got != key {
			t.Errorf("frame %d: keyframe %v once encrypted, %v in clear", frames, got, key)
		}
		w, h, ok := VP8KeyframeSize(plain)
		w2, h2, ok2 := VP8KeyframeSize(sealed)
		if w != w2 || h != h2 || ok != ok2 {
			t.Errorf("frame %d: size %dx%d %v once encrypted, %dx%d %v in clear", frames, w2, h2, ok2, w, h, ok)
		}
		if key {
			keys++
			if w != 1280 || h != 720 {
				t.Errorf("frame %d: keyframe of %dx%d, want 1280x720", frames, w, h)
			}
		}
		frames++
	}
	if frames < 100 || keys < 2 {
		t.Fatalf("read %d frames, %d keyframes: the fixture is not what this test expects", frames, keys)
	}
}
