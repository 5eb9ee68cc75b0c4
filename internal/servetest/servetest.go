// Package servetest helps tests run the real podium binary: it builds cmd/podium once per test
// binary, finds free loopback ports for it, and collects its output. Only tests import it.
package servetest

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
	buildOut  []byte
)

// Binary builds cmd/podium on first use (with -race when race is set, so that a race test
// binary's packages come from the build cache) and returns its path. Call Cleanup from TestMain.
func Binary(t testing.TB, race bool) string {
	t.Helper()
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "podium-bin-"); buildErr != nil {
			return
		}
		args := []string{"build", "-o", filepath.Join(binDir, "podium")}
		if race {
			args = append(args, "-race")
		}
		// By import path: it builds from any directory of the module.
		buildOut, buildErr = exec.Command("go", append(args, "github.com/podium-sfu/podium/cmd/podium")...).CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("go build cmd/podium: %v\n%s", buildErr, buildOut)
	}
	return filepath.Join(binDir, "podium")
}

// Cleanup removes the built binary, if any.
func Cleanup() {
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
}

// FreePorts returns two free TCP ports and a free UDP port on 127.0.0.1. Another process could
// take one before podium binds it; that is rare on loopback.
func FreePorts(t testing.TB) (httpPort, tcpPort, udpPort int) {
	t.Helper()
	tcp := func() int {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port
	}
	httpPort, tcpPort = tcp(), tcp()
	u, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	return httpPort, tcpPort, u.LocalAddr().(*net.UDPAddr).Port
}

// Output collects a process's output while the test reads it.
type Output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Output) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *Output) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
