package server

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestDevKeysSurviveARestart: in dev mode a restarted node signs with the same key pair, so the
// tokens its pages hold stay good; the file is private, and a damaged one is replaced.
func TestDevKeysSurviveARestart(t *testing.T) {
	file := filepath.Join(t.TempDir(), "podium", "dev-key")
	start := func() (string, string) {
		n, err := Start(Config{TCPPort: -1, DevKeyFile: file, Media: sfuLoopback()})
		if err != nil {
			t.Fatal(err)
		}
		defer n.Shutdown(context.Background())
		return n.DevKey, n.DevSecret
	}
	k1, s1 := start()
	k2, s2 := start()
	if k1 == "" || k1 != k2 || s1 != s2 {
		t.Fatalf("keys after a restart: %s then %s", k1, k2)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the key file: %v %v", fi, err)
	}
	if err := os.WriteFile(file, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	k3, _ := start()
	if k3 == k1 || k3 == "" {
		t.Fatalf("a damaged file was trusted or not replaced: %q", k3)
	}
	if k4, _ := start(); k4 != k3 {
		t.Fatalf("the replaced pair did not last: %q then %q", k3, k4)
	}
}
