package e2e

// firefox.go drives a headless Firefox ESR as a second real WebRTC client. Go has no WebDriver
// BiDi client as mature as chromedp, so a small Node program (firefox/driver.mjs, on
// puppeteer-core from npm) starts Firefox and relays line-based JSON: the test stays in Go, and a
// FirefoxPage answers Eval, MustEval, WaitFor and Poll as a Chromium Page does.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Firefox harness settings.
const (
	// EnvFirefox names the Firefox binary (default /usr/bin/firefox-esr).
	EnvFirefox = "PODIUM_FIREFOX"
	// DefaultFirefox is where Debian's firefox-esr package installs the browser.
	DefaultFirefox = "/usr/bin/firefox-esr"
	// firefoxHarness is the Node driver's directory, relative to this package.
	firefoxHarness = "firefox"
	// firefoxStart bounds Firefox's start: 8-12 s on a busy two-core machine.
	firefoxStart = 90 * time.Second
)

// FirefoxPath returns the browser binary to use: $PODIUM_FIREFOX, else /usr/bin/firefox-esr.
func FirefoxPath() string {
	if p := os.Getenv(EnvFirefox); p != "" {
		return p
	}
	return DefaultFirefox
}

// RequireFirefox returns the paths of Firefox and of the Node driver, or skips the test when
// Firefox, node or the driver's node_modules are missing; with PODIUM_E2E=require it fails
// instead.
func RequireFirefox(t testing.TB) (browser, driver string) {
	t.Helper()
	missing := func(msg string) {
		t.Helper()
		if os.Getenv(EnvE2E) == "require" {
			t.Fatalf("%s; %s=require makes this an error", msg, EnvE2E)
		}
		t.Skipf("%s; skipping (set %s=require to fail instead)", msg, EnvE2E)
	}
	browser, err := exec.LookPath(FirefoxPath())
	if err != nil {
		missing(fmt.Sprintf("no Firefox at %s (%v): install it (apt-get install -y firefox-esr) or set %s", FirefoxPath(), err, EnvFirefox))
	}
	if _, err := exec.LookPath("node"); err != nil {
		missing(fmt.Sprintf("no node (%v): install it (apt-get install -y nodejs npm)", err))
	}
	dir, err := filepath.Abs(firefoxHarness)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "puppeteer-core", "package.json")); err != nil {
		missing(fmt.Sprintf("the Firefox driver's packages are not installed (%v): run `PUPPETEER_SKIP_DOWNLOAD=1 npm ci` in %s", err, dir))
	}
	return browser, filepath.Join(dir, "driver.mjs")
}

// Firefox is one headless Firefox, run by the Node driver, closed when the test ends.
type Firefox struct {
	Version string // e.g. "firefox/153.8.0"

	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *tailBuffer
	done   chan struct{} // closed when the driver's stdout ends

	mu      sync.Mutex // guards the fields below and writes to stdin
	nextID  int
	waiting map[int]chan driverReply
	console map[int][]string
	ready   chan driverReply
}

// driverReply is one line from the driver: a reply (ID set) or an event.
type driverReply struct {
	ID    *int    `json:"id"`
	OK    bool    `json:"ok"`
	Error string  `json:"error"`
	Page  int     `json:"page"`
	JSON  *string `json:"json"`

	Event   string `json:"event"`
	Text    string `json:"text"`
	Version string `json:"version"`
}

// NewFirefox starts Firefox for the test (skipping it when there is none, see RequireFirefox)
// and stops it in t.Cleanup.
func NewFirefox(t testing.TB) *Firefox {
	t.Helper()
	browser, driver := RequireFirefox(t)
	cmd := exec.Command("node", driver)
	cmd.Dir = filepath.Dir(driver)
	cmd.Env = append(os.Environ(), EnvFirefox+"="+browser)
	f := &Firefox{cmd: cmd, stderr: &tailBuffer{max: 16 << 10}, done: make(chan struct{}),
		waiting: map[int]chan driverReply{}, console: map[int][]string{}, ready: make(chan driverReply, 1)}
	cmd.Stderr = f.stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	f.stdin = stdin
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the Firefox driver: %v", err)
	}
	// The reader owns stdout; Close waits for it through f.done.
	go f.read(stdout)
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Logf("closing Firefox: %v", err)
		}
	})
	select {
	case r := <-f.ready:
		f.Version = r.Version
	case <-f.done:
		t.Fatalf("the Firefox driver ended before Firefox started: %v\n%s", cmd.Wait(), f.stderr)
	case <-time.After(firefoxStart):
		t.Fatalf("Firefox did not start in %v\n%s", firefoxStart, f.stderr)
	}
	return f
}

// read dispatches the driver's lines until its stdout ends.
func (f *Firefox) read(stdout io.Reader) {
	defer close(f.done)
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 64<<20) // an eval may return a whole stats report
	for sc.Scan() {
		var r driverReply
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			f.stderr.Write([]byte("unreadable driver line: " + sc.Text() + "\n"))
			continue
		}
		f.mu.Lock()
		switch {
		case r.ID != nil:
			if ch, ok := f.waiting[*r.ID]; ok {
				delete(f.waiting, *r.ID)
				ch <- r // buffered
			}
		case r.Event == "console":
			f.console[r.Page] = append(f.console[r.Page], r.Text)
		case r.Event == "ready":
			f.ready <- r // buffered, sent once
		}
		f.mu.Unlock()
	}
}

// call sends one request and waits for its reply.
func (f *Firefox) call(req map[string]any, timeout time.Duration) (driverReply, error) {
	ch := make(chan driverReply, 1)
	f.mu.Lock()
	f.nextID++
	id := f.nextID
	req["id"] = id
	line, err := json.Marshal(req)
	if err == nil {
		f.waiting[id] = ch
		_, err = f.stdin.Write(append(line, '\n'))
	}
	f.mu.Unlock()
	if err != nil {
		return driverReply{}, fmt.Errorf("firefox %s: %w", req["op"], err)
	}
	forget := func() {
		f.mu.Lock()
		delete(f.waiting, id)
		f.mu.Unlock()
	}
	select {
	case r := <-ch:
		if !r.OK {
			return r, fmt.Errorf("firefox %s: %s", req["op"], r.Error)
		}
		return r, nil
	case <-f.done:
		forget()
		return driverReply{}, fmt.Errorf("firefox %s: the driver ended\n%s", req["op"], f.stderr)
	case <-time.After(timeout):
		forget()
		return driverReply{}, fmt.Errorf("firefox %s: no answer in %v", req["op"], timeout)
	}
}

// Close ends the driver, which closes Firefox; a driver that does not end in 20 s is
// terminated (puppeteer closes the browser on SIGTERM), then killed.
func (f *Firefox) Close() error {
	f.stdin.Close()
	for _, sig := range []os.Signal{nil, syscall.SIGTERM, os.Kill} {
		if sig != nil {
			_ = f.cmd.Process.Signal(sig)
		}
		select {
		case <-f.done:
			err := f.cmd.Wait()
			var exit *exec.ExitError
			if errors.As(err, &exit) && sig != nil {
				return fmt.Errorf("the driver ended on %v", sig)
			}
			return err
		case <-time.After(20 * time.Second):
		}
	}
	return errors.New("the Firefox driver did not end")
}

// FirefoxPage is one Firefox tab.
type FirefoxPage struct {
	f   *Firefox
	id  int
	url string
}

// NewPage opens url in a new tab and waits for its load event. Its console messages are logged
// with t.Logf if the test fails; the tab closes in t.Cleanup.
func (f *Firefox) NewPage(t testing.TB, url string) *FirefoxPage {
	t.Helper()
	r, err := f.call(map[string]any{"op": "open", "url": url}, 60*time.Second)
	if err != nil {
		t.Fatalf("opening %s: %v", url, err)
	}
	p := &FirefoxPage{f: f, id: r.Page, url: url}
	t.Cleanup(func() {
		if t.Failed() {
			logConsole(t, p.url, p.Console())
		}
		_, _ = f.call(map[string]any{"op": "close", "page": p.id}, 10*time.Second)
	})
	return p
}

// Console returns the tab's console messages so far ("log: text", "exception: ...").
func (p *FirefoxPage) Console() []string {
	p.f.mu.Lock()
	defer p.f.mu.Unlock()
	return append([]string(nil), p.f.console[p.id]...)
}

func (p *FirefoxPage) evalJSON(js string) ([]byte, error) {
	r, err := p.f.call(map[string]any{"op": "eval", "page": p.id, "js": js}, EvalTimeout)
	if err != nil {
		return nil, err
	}
	if r.JSON == nil {
		return nil, nil // undefined
	}
	return []byte(*r.JSON), nil
}

func (p *FirefoxPage) closed() error {
	select {
	case <-p.f.done:
		return errors.New("the Firefox driver ended")
	default:
		return nil
	}
}

// WaitFor polls a boolean JavaScript expression every 100 ms until it is true, and fails the
// test with the last error or value when timeout passes first.
func (p *FirefoxPage) WaitFor(t testing.TB, js string, timeout time.Duration) {
	t.Helper()
	if err := p.Poll(js, timeout); err != nil {
		t.Fatal(err)
	}
}

// Poll is WaitFor returning an error instead of failing the test.
func (p *FirefoxPage) Poll(js string, timeout time.Duration) error {
	return poll(p, js, timeout, p.closed)
}

// Screenshot saves a PNG of the visible part of the page.
func (p *FirefoxPage) Screenshot(path string) error {
	_, err := p.f.call(map[string]any{"op": "screenshot", "page": p.id, "path": path}, EvalTimeout)
	return err
}

// tailBuffer keeps the last max bytes written to it, for error messages.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf bytes.Buffer
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if extra := b.buf.Len() - b.max; extra > 0 {
		b.buf.Next(extra)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.TrimSpace(b.buf.String())
}
