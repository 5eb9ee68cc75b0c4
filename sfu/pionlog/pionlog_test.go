package pionlog

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestPionWarningsAreWarnings: pion's warnings reach the log as warnings, at most one a second
// from each of its loggers, with a count of those left out.
func TestPionWarningsAreWarnings(t *testing.T) {
	var logs bytes.Buffer
	l := NewFactory(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))).NewLogger("srtp")
	l.Infof("noise %d", 1)
	l.Warnf("trouble %d", 1)
	l.Warn("trouble 2")
	l.Warn("trouble 3")
	out := logs.String()
	if strings.Contains(out, "noise") || !strings.Contains(out, "level=WARN") || !strings.Contains(out, "trouble 1") ||
		strings.Contains(out, "trouble 2") {
		t.Fatalf("log %q: want the first warning only", out)
	}
	g := &logGate{}
	now := time.Now().UnixNano()
	for i, c := range []struct {
		at         int64
		ok         bool
		suppressed int64
	}{{now, true, 0}, {now + 1, false, 0}, {now + 2, false, 0}, {now + int64(time.Second), true, 2}, {now + int64(time.Second) + 1, false, 0}} {
		if ok, n := g.allow(c.at); ok != c.ok || n != c.suppressed {
			t.Errorf("message %d: allowed %v with %d left out, want %v with %d", i, ok, n, c.ok, c.suppressed)
		}
	}
}
