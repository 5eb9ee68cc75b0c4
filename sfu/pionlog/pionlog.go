// Package pionlog sends pion's logs to log/slog.
package pionlog

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/pion/logging"
)

// factory sends pion's logs to slog. pion is chatty: its Info becomes Debug and its
// Debug becomes Trace. Its warnings and errors are warnings (an SRTP session or ICE in trouble is what an
// operator wants to see, and Podium's own path leaves pion what does not decrypt), but each of
// its loggers says at most one a second: some come per packet (a stray sender, say).
type factory struct{ base *slog.Logger }

// NewFactory makes pion's loggers write to l (see factory).
func NewFactory(l *slog.Logger) logging.LoggerFactory {
	return factory{base: l.With("component", "pion")}
}

func (f factory) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{l: f.base.With("scope", scope), gate: &logGate{}}
}

type pionLogger struct {
	l    *slog.Logger
	gate *logGate // warnings and errors
}

// logGate lets one message a second through and counts the others.
type logGate struct {
	next       atomic.Int64 // unix ns
	suppressed atomic.Int64
}

// allow reports whether a message may go out now, and how many did not since the last one.
func (g *logGate) allow(now int64) (bool, int64) {
	next := g.next.Load()
	if now < next || !g.next.CompareAndSwap(next, now+int64(time.Second)) {
		g.suppressed.Add(1)
		return false, 0
	}
	return true, g.suppressed.Swap(0)
}

func (p pionLogger) log(level slog.Level, msg string) {
	if !p.l.Enabled(context.Background(), level) {
		return
	}
	if level < slog.LevelWarn {
		p.l.Log(context.Background(), level, msg)
		return
	}
	ok, suppressed := p.gate.allow(time.Now().UnixNano())
	if !ok {
		return
	}
	if suppressed > 0 {
		p.l.Log(context.Background(), level, msg, "suppressed", suppressed)
		return
	}
	p.l.Log(context.Background(), level, msg)
}

func (p pionLogger) logf(level slog.Level, format string, args ...any) {
	if p.l.Enabled(context.Background(), level) {
		p.log(level, fmt.Sprintf(format, args...))
	}
}

const levelTrace = slog.LevelDebug - 4

func (p pionLogger) Trace(msg string)                  { p.log(levelTrace, msg) }
func (p pionLogger) Tracef(format string, args ...any) { p.logf(levelTrace, format, args...) }
func (p pionLogger) Debug(msg string)                  { p.log(levelTrace, msg) }
func (p pionLogger) Debugf(format string, args ...any) { p.logf(levelTrace, format, args...) }
func (p pionLogger) Info(msg string)                   { p.log(slog.LevelDebug, msg) }
func (p pionLogger) Infof(format string, args ...any)  { p.logf(slog.LevelDebug, format, args...) }
func (p pionLogger) Warn(msg string)                   { p.log(slog.LevelWarn, msg) }
func (p pionLogger) Warnf(format string, args ...any)  { p.logf(slog.LevelWarn, format, args...) }
func (p pionLogger) Error(msg string)                  { p.log(slog.LevelWarn, msg) }
func (p pionLogger) Errorf(format string, args ...any) { p.logf(slog.LevelWarn, format, args...) }
