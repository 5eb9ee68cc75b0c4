package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/client"
	"github.com/podium-sfu/podium/protocol"
)

// The binary is built once, on first use, into a temp dir that TestMain removes.
var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
	buildOut  []byte
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// podiumBinary builds cmd/podium (the build cache makes it quick) and returns its path.
func podiumBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the podium binary; skipped with -short")
	}
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "podium-bin-"); buildErr != nil {
			return
		}
		buildOut, buildErr = exec.Command("go", "build", "-o", filepath.Join(binDir, "podium"), ".").CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("go build: %v\n%s", buildErr, buildOut)
	}
	return filepath.Join(binDir, "podium")
}

// freePorts returns a free TCP port for HTTP, one for ICE-TCP and a free UDP port, all on
// 127.0.0.1. Another process could take one before podium binds it; that is rare on loopback.
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

// syncBuffer collects a process's output while the test reads it.
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

// process is a running `podium serve`.
type process struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	exited chan struct{}
	err    error // of Wait, once exited is closed
	http   string
}

// startServe runs `podium serve` on free loopback ports with extra flags; the process is
// killed when the test ends if it is still running.
func startServe(t *testing.T, extra ...string) *process {
	t.Helper()
	bin := podiumBinary(t)
	hp, tp, up := freePorts(t)
	args := append([]string{"serve", "--http-port", strconv.Itoa(hp), "--tcp-port", strconv.Itoa(tp),
		"--udp-port", strconv.Itoa(up)}, extra...)
	p := &process{cmd: exec.Command(bin, args...), stderr: &syncBuffer{}, exited: make(chan struct{}),
		http: "http://127.0.0.1:" + strconv.Itoa(hp)}
	p.cmd.Stdout, p.cmd.Stderr = p.stderr, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { // owned by the process: ends when it exits
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
			t.Logf("podium output:\n%s", p.stderr.String())
		}
	})
	return p
}

// waitHealthy polls /healthz until the server answers 200.
func (p *process) waitHealthy(t *testing.T) {
	t.Helper()
	eventually(t, 10*time.Second, "GET /healthz = 200", func() bool {
		select {
		case <-p.exited:
			t.Fatalf("podium exited early (%v):\n%s", p.err, p.stderr.String())
		default:
		}
		resp, err := http.Get(p.http + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// stop sends SIGTERM and waits up to 10 s for a clean exit.
func (p *process) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("podium did not exit within 10 s of SIGTERM")
	}
	if p.err != nil {
		t.Fatalf("podium exited with %v, want status 0", p.err)
	}
}

func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServeShutsDownOnSIGTERM runs the binary with keys, connects a Go client with a token
// minted from the same key, and checks that SIGTERM sends it `leave` (server_shutdown) and
// the process exits 0.
func TestServeShutsDownOnSIGTERM(t *testing.T) {
	p := startServe(t, "--keys", testKey+":"+testSecret)
	p.waitHealthy(t)

	tok, err := auth.Mint(testKey, testSecret, auth.MintOptions{Identity: "ann",
		Grant: auth.Grant{Room: "r", RoomJoin: true, CanPublish: true, CanSubscribe: true, CanPublishData: true}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, "ws"+p.http[len("http"):], tok, client.Options{Loopback: true})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer c.Close()
	if c.Room().Name != "r" {
		t.Fatalf("joined room %q", c.Room().Name)
	}

	p.stop(t)
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("client still connected after the server exited")
	}
	if got := c.LeaveReason(); got != protocol.LeaveServerShutdown {
		t.Fatalf("leave reason %q, want %q", got, protocol.LeaveServerShutdown)
	}
	if out := p.stderr.String(); regexp.MustCompile(`dev API (key|secret)`).MatchString(out) {
		t.Errorf("server with --keys printed dev credentials:\n%s", out)
	}
}

// TestServeDevMode runs the binary without --keys: it prints a dev key and secret, and
// /api/dev/token hands out tokens signed with them.
func TestServeDevMode(t *testing.T) {
	t.Setenv("PODIUM_KEYS", "") // a developer's shell must not turn dev mode off
	p := startServe(t)
	p.waitHealthy(t)

	keyRE := regexp.MustCompile(`dev API key:\s+(\S+)`)
	secretRE := regexp.MustCompile(`dev API secret:\s+(\S+)`)
	eventually(t, 5*time.Second, "the dev key and secret on stderr", func() bool {
		out := p.stderr.String()
		return keyRE.MatchString(out) && secretRE.MatchString(out)
	})
	out := p.stderr.String()
	key, secret := keyRE.FindStringSubmatch(out)[1], secretRE.FindStringSubmatch(out)[1]

	resp, err := http.Get(p.http + "/api/dev/token?room=r&identity=i")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Token, URL string }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/dev/token = %d (%v)", resp.StatusCode, err)
	}
	v := auth.Verifier{Keys: auth.KeyProvider{key: secret}}
	claims, err := v.Verify(body.Token)
	if err != nil {
		t.Fatalf("dev token does not verify with the printed key and secret: %v", err)
	}
	if claims.Identity != "i" || claims.Grant.Room != "r" || !claims.Grant.RoomJoin {
		t.Errorf("dev token claims %+v", claims)
	}
	p.stop(t)
}

// TestServeRefusesStrayArguments: a stray argument ends flag parsing, so it must stop the
// server instead of silently ignoring the flags after it.
func TestServeRefusesStrayArguments(t *testing.T) {
	p := startServe(t, "--keys", testKey+":"+testSecret, "oops", "--log-level", "debug")
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		t.Fatal("podium serve with a stray argument kept running")
	}
	var ee *exec.ExitError
	if !errors.As(p.err, &ee) || ee.ExitCode() == 0 {
		t.Fatalf("exit %v, want a failure status", p.err)
	}
	if !bytes.Contains([]byte(p.stderr.String()), []byte(`unexpected argument "oops"`)) {
		t.Errorf("stderr does not name the argument:\n%s", p.stderr.String())
	}
}
