// Package e2e holds Podium's end-to-end tests and the helpers they share. browser.go drives a
// headless Chromium as a real WebRTC client: fake camera and microphone, loopback ICE, autoplay
// allowed, so that a page can publish, subscribe and report getStats() to a Go test.
package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Environment variables that tune the harness.
const (
	// EnvChromium names the Chromium binary (default /usr/bin/chromium).
	EnvChromium = "PODIUM_CHROMIUM"
	// EnvE2E set to "require" makes a missing browser fail the test instead of skipping it (CI).
	EnvE2E = "PODIUM_E2E"
)

// DefaultChromium is where Debian's chromium package installs the browser.
const DefaultChromium = "/usr/bin/chromium"

// EvalTimeout bounds one Eval; a WaitFor bounds itself.
const EvalTimeout = 30 * time.Second

// ChromiumPath returns the browser binary to use: $PODIUM_CHROMIUM, else /usr/bin/chromium.
func ChromiumPath() string {
	if p := os.Getenv(EnvChromium); p != "" {
		return p
	}
	return DefaultChromium
}

// RequireBrowser returns the path of the browser, or skips the test when there is none; with
// PODIUM_E2E=require it fails the test instead.
func RequireBrowser(t testing.TB) string {
	t.Helper()
	p := ChromiumPath()
	path, err := exec.LookPath(p)
	if err == nil {
		return path
	}
	msg := fmt.Sprintf("no Chromium at %s (%v): install it (apt-get install -y chromium) or set %s", p, err, EnvChromium)
	if os.Getenv(EnvE2E) == "require" {
		t.Fatalf("%s; %s=require makes this an error", msg, EnvE2E)
	}
	t.Skipf("%s; skipping (set %s=require to fail instead)", msg, EnvE2E)
	return ""
}

// Flags returns the command-line options for a headless Chromium acting as a WebRTC client on
// loopback, on top of chromedp's defaults.
func Flags(execPath, userDataDir string) []chromedp.ExecAllocatorOption {
	opts := append([]chromedp.ExecAllocatorOption{}, chromedp.DefaultExecAllocatorOptions[:]...)
	return append(opts,
		chromedp.ExecPath(execPath),
		chromedp.UserDataDir(userDataDir),
		chromedp.Flag("headless", "new"),
		chromedp.NoSandbox, // tests may run as root
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 800),
		// Fake camera (1280x720 test pattern) and microphone (beeps), no permission prompts.
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		// Remote <audio> plays (and audio stats move) without a user gesture.
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.Flag("allow-loopback-in-peer-connection", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		// One list: a second disable-features flag would replace chromedp's defaults. Without
		// mDNS hiding, host candidates carry real (loopback) addresses.
		chromedp.Flag("disable-features", "Translate,BlinkGenPropertyTrees,WebRtcHideLocalIpsWithMdns"),
		// Over --dev-tls (OverTLS) every node has a self-signed certificate of its own.
		chromedp.Flag("ignore-certificate-errors", OverTLS()),
	)
}

// EnvTLS set to 1 runs the suite over --dev-tls: the nodes the tests start serve https and wss
// with a self-signed certificate, which the browsers and the tests' Go clients accept.
const EnvTLS = "PODIUM_E2E_TLS"

// OverTLS reports whether the suite runs over --dev-tls (EnvTLS).
func OverTLS() bool { return os.Getenv(EnvTLS) == "1" }

// Browser is one headless Chromium process with a fresh profile, closed when the test ends.
type Browser struct {
	ctx    context.Context // the browser's first tab; parent of every Page
	cancel context.CancelFunc
}

// NewBrowser starts Chromium for the test (skipping it when there is no browser, see
// RequireBrowser) and stops it in t.Cleanup. Extra options come after Flags, e.g.
// chromedp.Flag("use-file-for-fake-video-capture", path); a "disable-features" flag there
// replaces the whole list of Flags.
func NewBrowser(t testing.TB, extra ...chromedp.ExecAllocatorOption) *Browser {
	t.Helper()
	path := RequireBrowser(t)
	opts := append(Flags(path, t.TempDir()), extra...)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	b := &Browser{ctx: ctx, cancel: func() { cancelCtx(); cancelAlloc() }}
	// The first Run starts the browser; it must not carry a timeout (that would stop the browser).
	start := make(chan error, 1)
	go func() { start <- chromedp.Do(ctx) }()
	select {
	case err := <-start:
		if err != nil {
			b.cancel()
			t.Fatalf("starting %s: %v", path, err)
		}
	case <-time.After(60 * time.Second):
		b.cancel()
		t.Fatalf("starting %s: no answer in 60 s", path)
	}
	t.Cleanup(b.cancel)
	return b
}

// Page is one browser tab.
type Page struct {
	ctx    context.Context
	cancel context.CancelFunc
	url    string

	mu      sync.Mutex
	console []string
	done    chan struct{}
}

// NewPage opens url in a new tab. The tab's console messages and uncaught exceptions are kept and
// logged with t.Logf if the test fails; the tab closes in t.Cleanup.
func (b *Browser) NewPage(t testing.TB, url string) *Page {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	p := &Page{ctx: ctx, cancel: cancel, url: url, done: make(chan struct{})}
	// Create the tab first, so that the console subscription sees the page from its first line.
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		t.Fatalf("opening a tab: %v", err)
	}
	messages := chromedp.Console(ctx)
	go p.collect(messages)
	t.Cleanup(func() {
		if t.Failed() {
			logConsole(t, p.url, p.Console())
		}
		p.cancel()
		<-p.done
	})
	nav, cancelNav := context.WithTimeout(ctx, 30*time.Second)
	defer cancelNav()
	if err := chromedp.Do(nav, chromedp.Navigate(url)); err != nil {
		t.Fatalf("opening %s: %v", url, err)
	}
	return p
}

// collect keeps the tab's console messages until the tab closes.
func (p *Page) collect(messages iter.Seq2[chromedp.ConsoleMessage, error]) {
	defer close(p.done)
	for m, err := range messages {
		if err != nil {
			return
		}
		line := m.String()
		if m.URL != "" {
			line += fmt.Sprintf(" (%s:%d)", m.URL, m.Line+1)
		}
		p.mu.Lock()
		p.console = append(p.console, line)
		p.mu.Unlock()
	}
}

// Console returns the console messages so far, one line each ("log: text", "exception: ...").
func (p *Page) Console() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.console...)
}

func logConsole(t testing.TB, url string, lines []string) {
	if len(lines) == 0 {
		t.Logf("console of %s: (empty)", url)
		return
	}
	t.Logf("console of %s:\n\t%s", url, strings.Join(lines, "\n\t"))
}

// Context returns the tab's chromedp context, for actions the harness does not wrap. Derive a
// timeout from it for each action; never cancel it (the tab closes in t.Cleanup).
func (p *Page) Context() context.Context { return p.ctx }

// Tab is a page in either browser, Chromium (*Page) or Firefox (*FirefoxPage): Eval, MustEval and
// checks shared by both browsers' tests take one.
type Tab interface {
	// evalJSON evaluates a JavaScript expression, awaiting a promise, and returns its value as
	// JSON; nil for undefined.
	evalJSON(js string) ([]byte, error)
	WaitFor(t testing.TB, js string, timeout time.Duration)
	Poll(js string, timeout time.Duration) error
	Screenshot(path string) error
	Console() []string
}

func (p *Page) evalJSON(js string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(p.ctx, EvalTimeout)
	defer cancel()
	// A []byte result is the value's JSON as the browser serialised it (returnByValue).
	return chromedp.Run(ctx, chromedp.Evaluate[[]byte](js, chromedp.EvalAwaitPromise))
}

// Eval evaluates a JavaScript expression in the page and decodes its value into T (through JSON).
// A promise is awaited; an exception or a rejection is an error, and so is undefined or null when
// T cannot be nil. Use an async arrow for statements: `(async () => { ...; return x })()`.
func Eval[T any](p Tab, js string) (T, error) {
	var v T
	raw, err := p.evalJSON(js)
	if err != nil {
		return v, err
	}
	if len(raw) == 0 || string(raw) == "null" {
		switch reflect.TypeFor[T]().Kind() {
		case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface:
			return v, nil
		}
		if len(raw) == 0 {
			return v, chromedp.ErrJSUndefined
		}
		return v, chromedp.ErrJSNull
	}
	err = json.Unmarshal(raw, &v)
	return v, err
}

// MustEval is Eval that fails the test on an error.
func MustEval[T any](t testing.TB, p Tab, js string) T {
	t.Helper()
	v, err := Eval[T](p, js)
	if err != nil {
		t.Fatalf("evaluating %s: %v", abbrev(js), err)
	}
	return v
}

// WaitFor polls a boolean JavaScript expression (a promise is awaited) every 100 ms until it is
// true, and fails the test with the last error or value when timeout passes first.
func (p *Page) WaitFor(t testing.TB, js string, timeout time.Duration) {
	t.Helper()
	if err := p.Poll(js, timeout); err != nil {
		t.Fatal(err)
	}
}

// Poll is WaitFor returning an error instead of failing the test.
func (p *Page) Poll(js string, timeout time.Duration) error {
	return poll(p, js, timeout, func() error {
		if err := p.ctx.Err(); err != nil {
			return fmt.Errorf("the tab closed: %w", err)
		}
		return nil
	})
}

// poll evaluates js every 100 ms until it is true, the timeout passes or closed reports an error.
func poll(p Tab, js string, timeout time.Duration, closed func() error) error {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		ok, err := Eval[bool](p, js)
		if err == nil && ok {
			return nil
		}
		last = err
		if err := closed(); err != nil {
			return fmt.Errorf("waiting for %s: %w", abbrev(js), err)
		}
		if time.Now().After(deadline) {
			if last == nil {
				last = errors.New("still false")
			}
			return fmt.Errorf("waiting %v for %s: %w", timeout, abbrev(js), last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Screenshot saves a PNG of the visible part of the page.
func (p *Page) Screenshot(path string) error {
	ctx, cancel := context.WithTimeout(p.ctx, EvalTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		return fmt.Errorf("screenshot: %w", err)
	}
	return os.WriteFile(path, png, 0o644)
}

// abbrev shortens a script for an error message.
func abbrev(js string) string {
	js = strings.Join(strings.Fields(js), " ")
	if len(js) > 120 {
		return js[:117] + "..."
	}
	return js
}
