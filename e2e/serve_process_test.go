package e2e

import (
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/podium-sfu/podium/internal/servetest"
)

// podiumBinary builds cmd/podium once and returns its path: with -race when this test binary
// has the race detector, so that the packages come from the build cache either way.
func podiumBinary(t *testing.T) string { return servetest.Binary(t, raceEnabled) }

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
	hp, tp, up := servetest.FreePorts(t)
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

// serveProcess is one running `podium serve`.
type serveProcess struct {
	cmd    *exec.Cmd
	out    *servetest.Output // stdout and stderr
	exited chan struct{}
	err    error // of Wait, once exited is closed
}

// start runs the command and waits until GET /healthz answers 200. The process is killed when
// the test ends if it still runs, and its output is logged if the test failed.
func (s *serveCmd) start(t *testing.T) *serveProcess {
	t.Helper()
	p := &serveProcess{cmd: exec.Command(s.bin, s.args...), out: &servetest.Output{}, exited: make(chan struct{})}
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
