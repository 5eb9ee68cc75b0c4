package e2e

import (
	"bytes"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The real binary is built once per test binary, on first use, into a temp dir that TestMain
// removes.
var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
	buildOut  []byte
)

// podiumBinary builds cmd/podium and returns its path. It builds with -race when this test
// binary has the race detector, so that the packages come from the build cache either way.
func podiumBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "podium-e2e-bin-"); buildErr != nil {
			return
		}
		args := []string{"build", "-o", filepath.Join(binDir, "podium")}
		if raceEnabled {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, "./cmd/podium")...)
		cmd.Dir = ".." // the module root: this package is its e2e folder
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("go build ./cmd/podium: %v\n%s", buildErr, buildOut)
	}
	return filepath.Join(binDir, "podium")
}

// serveCmd is how to run one `podium serve` on 127.0.0.1, again and again with the same ports,
// flags and environment, as an operator's restart does.
type serveCmd struct {
	bin  string
	args []string
	env  []string
	base string // the HTTP base URL pages open
}

// newServeCmd picks free loopback ports for HTTP, ICE-TCP and the media UDP port. The child's
// environment is this process's without PODIUM_* variables (CI's settings for the tests are
// not the server's), plus env. Over OverTLS the server runs with --dev-tls.
func newServeCmd(t *testing.T, env ...string) *serveCmd {
	t.Helper()
	hp, tp, up := freePorts(t)
	s := &serveCmd{bin: podiumBinary(t), base: "http://127.0.0.1:" + strconv.Itoa(hp),
		args: []string{"serve", "--bind", "127.0.0.1", "--node-ip", "127.0.0.1", "--http-port", strconv.Itoa(hp),
			"--tcp-port", strconv.Itoa(tp), "--udp-port", strconv.Itoa(up)}}
	if OverTLS() {
		s.args = append(s.args, "--dev-tls")
		s.base = "https://127.0.0.1:" + strconv.Itoa(hp)
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PODIUM_") {
			s.env = append(s.env, kv)
		}
	}
	s.env = append(s.env, env...)
	return s
}

// freePorts returns two free TCP ports and a free UDP port on 127.0.0.1. Another process could
// take one before podium binds it; that is rare on loopback.
func freePorts(t *testing.T) (httpPort, tcpPort, udpPort int) {
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

// serveProcess is one running `podium serve`.
type serveProcess struct {
	cmd    *exec.Cmd
	out    *syncBuffer // stdout and stderr
	exited chan struct{}
	err    error // of Wait, once exited is closed
}

// start runs the command and waits until GET /healthz answers 200. The process is killed when
// the test ends if it still runs, and its output is logged if the test failed.
func (s *serveCmd) start(t *testing.T) *serveProcess {
	t.Helper()
	p := &serveProcess{cmd: exec.Command(s.bin, s.args...), out: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd.Env, p.cmd.Stdout, p.cmd.Stderr = s.env, p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { // ends when the process exits
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("podium serve (pid %d) output:\n%s", p.cmd.Process.Pid, p.out.String())
		}
	})
	// Generous: a -race binary on a busy machine starts slowly.
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-p.exited:
			t.Fatalf("podium serve exited before it was ready (%v)", p.err)
		default:
		}
		if resp, err := http.Get(s.base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("podium serve not ready (GET /healthz = 200) within 30 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends SIGTERM, as an operator or a supervisor does, and wants a clean exit (status 0)
// within 10 s.
func (p *serveProcess) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("podium serve did not exit within 10 s of SIGTERM")
	}
	if p.err != nil {
		t.Fatalf("podium serve exited with %v after SIGTERM, want status 0", p.err)
	}
}

// syncBuffer collects a process's output while the test may read it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
