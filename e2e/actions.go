package e2e

import (
	"context"
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
// ("\r" is Enter).
func (p *Page) Type(t testing.TB, selector, text string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 15*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.SendKeys(chromedp.CSS(selector), text, chromedp.NodeVisible)); err != nil {
		t.Fatalf("typing into %s: %v", selector, err)
	}
}
