package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/client"
	"github.com/podium-sfu/podium/internal/servetest"
	"github.com/podium-sfu/podium/internal/testlock"
	"github.com/podium-sfu/podium/protocol"
)

func TestMain(m *testing.M) {
	code := testlock.Run(m) // it builds and runs servers: one heavy package at a time
	servetest.Cleanup()
	os.Exit(code)
}

// podiumBinary builds cmd/podium once (the build cache makes it quick) and returns its path.
func podiumBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the podium binary; skipped with -short")
	}
	return servetest.Binary(t, false)
}

// process is a running `podium serve`.
type process struct {
	cmd    *exec.Cmd
	stderr *servetest.Output
	exited chan struct{}
	err    error // of Wait, once exited is closed
	http   string
}

// startServe runs `podium serve` on free loopback ports with extra flags; the process is
// killed when the test ends if it is still running.
func startServe(t *testing.T, extra ...string) *process {
	t.Helper()
	return startServeUnder(t, nil, extra...)
}

// startServeUnder is startServe with a command in front of the binary (e.g. a shell that
// lowers a limit first and execs the rest).
func startServeUnder(t *testing.T, prefix []string, extra ...string) *process {
	t.Helper()
	bin := podiumBinary(t)
	hp, tp, up := servetest.FreePorts(t)
	args := append([]string{bin, "serve", "--http-port", strconv.Itoa(hp), "--tcp-port", strconv.Itoa(tp),
		"--udp-port", strconv.Itoa(up)}, extra...)
	args = append(prefix, args...)
	p := &process{cmd: exec.Command(args[0], args[1:]...), stderr: &servetest.Output{}, exited: make(chan struct{}),
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

// serveEnv sets serve's PODIUM_* variables to env's and unsets the others until the test ends:
// a developer's shell must not decide a test.
func serveEnv(t *testing.T, env map[string]string) {
	t.Helper()
	for _, name := range []string{"BIND", "HTTP_PORT", "UDP_PORT", "TCP_PORT", "NODE_IP", "KEYS", "MAX_PARTICIPANTS",
		"BWE", "UDP_READERS", "LOG_LEVEL", "MAX_CONNS", "MAX_CONNS_PER_IP", "ALLOWED_APP_URLS", "FAST_PATH"} {
		v, ok := env["PODIUM_"+name]
		t.Setenv("PODIUM_"+name, v) // restored when the test ends
		if !ok {
			_ = os.Unsetenv("PODIUM_" + name)
		}
	}
}

// TestServeFlagsChecked: every flag of `podium serve` is checked, and the error names it; a
// bad number in a PODIUM_* variable is an error too, not the default (issue 15, finding 10:
// --http-port -1, --max-participants 0, --empty-timeout -1s, --udp-readers -5 and --node-ip
// not-an-ip were accepted silently).
func TestServeFlagsChecked(t *testing.T) {
	keys := "--keys=" + testKey + ":" + testSecret
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string // in the error; "" means accepted
	}{
		{"defaults", nil, nil, ""},
		{"everything valid", []string{keys, "--bind", "0.0.0.0", "--http-port", "1", "--udp-port", "65535", "--tcp-port", "0",
			"--node-ip", "203.0.113.7, 2001:db8::7", "--max-participants", "1", "--empty-timeout", "1s", "--udp-readers", "0",
			"--udp-buffer", "0", "--log-level", "debug", "--pprof", "127.0.0.1:6060", "--max-conns", "1", "--max-conns-per-ip", "0",
			"--allowed-app-urls", "wss://media.example.com,ws://10.0.0.5:7880", "--dev-allow-remote", "--bwe=false", "--fast-path=false"}, nil, ""},
		{"http port negative", []string{"--http-port", "-1"}, nil, "--http-port"},
		{"http port zero: a free one", []string{"--http-port", "0"}, nil, ""},
		{"http port too big", []string{"--http-port", "65536"}, nil, "--http-port"},
		{"udp port off", []string{"--udp-port", "-1"}, nil, "--udp-port"},
		{"tcp port off", []string{"--tcp-port", "-1"}, nil, ""},
		{"tcp port negative", []string{"--tcp-port", "-2"}, nil, "--tcp-port"},
		{"tcp port too big", []string{"--tcp-port", "70000"}, nil, "--tcp-port"},
		{"max participants zero", []string{"--max-participants", "0"}, nil, "--max-participants"},
		{"max participants negative", []string{"--max-participants", "-1"}, nil, "--max-participants"},
		{"empty timeout negative", []string{"--empty-timeout", "-1s"}, nil, "--empty-timeout"},
		{"empty timeout zero", []string{"--empty-timeout", "0s"}, nil, "--empty-timeout"},
		{"udp readers negative", []string{"--udp-readers", "-5"}, nil, "--udp-readers"},
		{"udp buffer negative", []string{"--udp-buffer", "-1"}, nil, "--udp-buffer"},
		{"node ip not an ip", []string{"--node-ip", "not-an-ip"}, nil, "--node-ip"},
		{"node ip empty item", []string{"--node-ip", "203.0.113.7,,203.0.113.8"}, nil, "--node-ip"},
		{"node ip a host name", []string{"--node-ip", "podium.example.com"}, nil, "--node-ip"},
		{"bind not an ip", []string{"--bind", "everywhere"}, nil, "--bind"},
		{"log level", []string{"--log-level", "loud"}, nil, "--log-level"},
		{"pprof without a port", []string{"--pprof", "localhost"}, nil, "--pprof"},
		{"short secret", []string{"--keys", "k1:x"}, nil, "--keys"},
		{"max conns zero", []string{"--max-conns", "0"}, nil, "--max-conns"},
		{"max conns per ip negative", []string{"--max-conns-per-ip", "-1"}, nil, "--max-conns-per-ip"},
		{"app url http", []string{"--allowed-app-urls", "http://media.example.com"}, nil, "--allowed-app-urls"},
		{"app url with a path", []string{"--allowed-app-urls", "ws://media.example.com/rtc"}, nil, "--allowed-app-urls"},
		{"env port not a number", nil, map[string]string{"PODIUM_HTTP_PORT": "80a"}, "PODIUM_HTTP_PORT"},
		{"env port out of range", nil, map[string]string{"PODIUM_UDP_PORT": "65536"}, "--udp-port"},
		{"env cap not a number", nil, map[string]string{"PODIUM_MAX_CONNS_PER_IP": "many"}, "PODIUM_MAX_CONNS_PER_IP"},
		{"fast path not a bool", []string{"--fast-path=sometimes"}, nil, "fast-path"},
		{"env fast path off", nil, map[string]string{"PODIUM_FAST_PATH": "0"}, ""},
		{"env fast path not a bool", nil, map[string]string{"PODIUM_FAST_PATH": "maybe"}, "PODIUM_FAST_PATH"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			serveEnv(t, tc.env)
			_, err := parseServe(tc.args)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one naming %s", err, tc.want)
			}
		})
	}
}

// TestServeFlagsMeaning: the flags whose 0 means something reach the node's config as that.
func TestServeFlagsMeaning(t *testing.T) {
	serveEnv(t, nil)
	o, err := parseServe([]string{"--tcp-port", "-1", "--udp-buffer", "0", "--max-conns-per-ip", "0",
		"--node-ip", " 203.0.113.7 ,2001:db8::7", "--allowed-app-urls", "wss://media.example.com", "--dev-allow-remote"})
	if err != nil {
		t.Fatal(err)
	}
	c := o.cfg
	if c.TCPPort != -1 || c.Media.SocketBuffer != -1 || c.HTTP.MaxConnsPerIP != -1 || !c.DevAllowRemote ||
		!slices.Equal(c.NodeIPs, []string{"203.0.113.7", "2001:db8::7"}) || !slices.Equal(c.AllowedAppURLs, []string{"wss://media.example.com"}) {
		t.Fatalf("config %+v", c)
	}
}

// TestServeFastPathSwitch: the media fast path is on unless --fast-path=false or
// PODIUM_FAST_PATH=0 turns it off (issue 16).
func TestServeFastPathSwitch(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  map[string]string
		off  bool
	}{
		{nil, nil, false},
		{[]string{"--fast-path=false"}, nil, true},
		{nil, map[string]string{"PODIUM_FAST_PATH": "0"}, true},
		{[]string{"--fast-path"}, map[string]string{"PODIUM_FAST_PATH": "0"}, false},
	} {
		serveEnv(t, c.env)
		o, err := parseServe(c.args)
		if err != nil {
			t.Fatal(err)
		}
		if o.cfg.Media.DisableFastPath != c.off {
			t.Errorf("%v %v: fast path off %v, want %v", c.args, c.env, o.cfg.Media.DisableFastPath, c.off)
		}
	}
}

// TestServeAnswersHealthzAtDescriptorLimit: under ulimit -n 256, 300 idle keep-alive
// connections made accept fail with "too many open files" and /healthz time out (issue 15,
// finding 6). Now the per-IP cap turns one address's surplus away, and without it the global
// cap (fitted under the descriptor limit) makes room by closing the longest-idle connection.
func TestServeAnswersHealthzAtDescriptorLimit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra []string
	}{
		{"per-IP cap", nil},
		{"global cap", []string{"--max-conns-per-ip", "0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			serveEnv(t, nil)
			sh := []string{"sh", "-c", `ulimit -n 256 && exec "$@"`, "sh"}
			p := startServeUnder(t, sh, append([]string{"--keys", testKey + ":" + testSecret}, tc.extra...)...)
			p.waitHealthy(t)
			addr := strings.TrimPrefix(p.http, "http://")
			for range 300 {
				c, err := net.DialTimeout("tcp", addr, 3*time.Second)
				if err != nil {
					t.Fatalf("dial: %v", err)
				}
				defer c.Close()
				// Refused connections fail here; admitted ones answer and stay open, idle.
				_ = c.SetDeadline(time.Now().Add(3 * time.Second))
				_, _ = c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: podium\r\n\r\n"))
				if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil {
					resp.Body.Close()
				}
			}
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
			client := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
			resp, err := client.Get(p.http + "/healthz")
			if err != nil {
				t.Fatalf("GET /healthz with 300 idle connections open: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET /healthz = %d", resp.StatusCode)
			}
			if strings.Contains(p.stderr.String(), "too many open files") {
				t.Errorf("the server ran out of descriptors:\n%s", p.stderr.String())
			}
			p.stop(t)
		})
	}
}
