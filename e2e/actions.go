package e2e

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Actions a person does on a page: click, type. Each waits for its element to be visible first.

// Click clicks the first element matching a CSS selector.
func (p *Page) Click(t testing.TB, selector string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 15*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Click(chromedp.CSS(selector), chromedp.NodeVisible)); err != nil {
		t.Fatalf("clicking %s: %v", selector, err)
	}
}

// Type focuses the first element matching a CSS selector and types text into it, key by key
// ("\r" is Enter). Each key is a round trip to the browser: on a loaded machine a sentence
// takes many seconds.
func (p *Page) Type(t testing.TB, selector, text string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 60*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.SendKeys(chromedp.CSS(selector), text, chromedp.NodeVisible)); err != nil {
		t.Fatalf("typing into %s: %v", selector, err)
	}
}

// SetViewport makes the page render at width x height CSS pixels; mobile also emulates a touch
// phone (meta viewport honoured, touch events).
func (p *Page) SetViewport(t testing.TB, width, height int64, mobile bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 15*time.Second)
	defer cancel()
	opts := []chromedp.EmulateViewportOption{}
	if mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateScale(2))
	}
	if _, err := chromedp.Run(ctx, chromedp.EmulateViewport(width, height, opts...)); err != nil {
		t.Fatalf("viewport %dx%d: %v", width, height, err)
	}
}

// ScreenshotFull saves a PNG of the whole page, beyond the viewport.
func (p *Page) ScreenshotFull(path string) error {
	ctx, cancel := context.WithTimeout(p.ctx, EvalTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return err
	}
	return os.WriteFile(path, png, 0o644)
}
