package server

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/podium-sfu/podium/protocol"
)

// Issue 15, finding 6: idle keep-alive connections never closed, and nothing capped how many
// one client or all clients together could hold, so 260 idle connections starved /healthz.

// keepAlive is a raw HTTP/1.1 connection from a chosen loopback address (Linux answers on all
// of 127/8), so that a test's clients can count as different IPs.
type keepAlive struct {
	net.Conn
	r *bufio.Reader
}

func dialFrom(t *testing.T, n *Node, ip string) *keepAlive {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", n.listener.Addr().String())
	if err != nil {
		t.Fatalf("dial from %s: %v", ip, err)
	}
	t.Cleanup(func() { c.Close() })
	return &keepAlive{Conn: c, r: bufio.NewReader(c)}
}

// get sends GET path with extra header lines and returns the status, or the error that ended
// the connection instead.
func (k *keepAlive) get(path string, headers ...string) (int, error) {
	_ = k.SetDeadline(time.Now().Add(5 * time.Second))
	req := "GET " + path + " HTTP/1.1\r\nHost: podium\r\n" + strings.Join(headers, "") + "\r\n"
	if _, err := io.WriteString(k, req); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(k.r, nil)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// TestIdleKeepAliveIsClosed: a keep-alive connection left idle is closed after IdleTimeout.
func TestIdleKeepAliveIsClosed(t *testing.T) {
	n := startNodeWith(t, func(c *Config) { c.HTTP.IdleTimeout = 200 * time.Millisecond })
	k := dialFrom(t, n, "127.0.0.1")
	if code, err := k.get("/healthz"); code != http.StatusOK {
		t.Fatalf("GET /healthz = %d (%v)", code, err)
	}
	start := time.Now()
	_ = k.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := k.r.ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("idle connection: read %v after %v, want EOF (closed by the server)", err, time.Since(start))
	}
}

// TestPerIPCapKeepsHealthzAnswering: one address holding idle keep-alives up to its cap gets
// its next connections closed at once, and /healthz still answers another address.
func TestPerIPCapKeepsHealthzAnswering(t *testing.T) {
	const perIP = 4
	n := startNodeWith(t, func(c *Config) { c.HTTP.MaxConnsPerIP = perIP })
	for i := range 3 * perIP {
		code, err := dialFrom(t, n, "127.0.0.1").get("/healthz")
		if admitted := i < perIP; admitted != (code == http.StatusOK) {
			t.Fatalf("connection %d: GET /healthz = %d (%v), want it admitted: %v", i+1, code, err, admitted)
		}
	}
	if st := n.conns.Stats(); st.RejectedPerKey != 2*perIP || st.Open != perIP {
		t.Fatalf("listener %+v, want %d refused and %d open", st, 2*perIP, perIP)
	}
	if code, err := dialFrom(t, n, "127.0.0.2").get("/healthz"); code != http.StatusOK {
		t.Fatalf("GET /healthz from another address = %d (%v)", code, err)
	}
}

// TestConnCapEvictsIdleKeepAlive: with every slot of the global cap held by idle keep-alives,
// a fresh /healthz gets in (the longest-idle connection is closed for it).
func TestConnCapEvictsIdleKeepAlive(t *testing.T) {
	const maxConns = 4
	n := startNodeWith(t, func(c *Config) { c.HTTP.MaxConns, c.HTTP.MaxConnsPerIP = maxConns, -1 })
	var idle []*keepAlive
	for i := range maxConns {
		k := dialFrom(t, n, "127.0.0.1")
		if code, err := k.get("/healthz"); code != http.StatusOK {
			t.Fatalf("GET /healthz = %d (%v)", code, err)
		}
		idle = append(idle, k)
		// http.Server reports a connection idle just after writing its response, on the
		// connection's goroutine: wait for each, so that idle[0] is the longest idle.
		eventually(t, 5*time.Second, "the connection idle", func() bool { return n.conns.Stats().Idle == i+1 })
	}
	if code, err := dialFrom(t, n, "127.0.0.1").get("/healthz"); code != http.StatusOK {
		t.Fatalf("GET /healthz at the cap = %d (%v)", code, err)
	}
	if _, err := idle[0].get("/healthz"); err == nil {
		t.Fatal("the longest-idle connection still answers: nothing was evicted")
	}
	if st := n.conns.Stats(); st.Evicted != 1 || st.RejectedTotal != 0 {
		t.Fatalf("listener %+v, want 1 evicted and none refused", st)
	}
}

// TestHeaderCap: headers over MaxHeaderBytes are refused with 431 (net/http's default was 1 MiB).
func TestHeaderCap(t *testing.T) {
	n := startNode(t)
	k := dialFrom(t, n, "127.0.0.1")
	code, err := k.get("/healthz", "X-Pad: "+strings.Repeat("p", 64<<10)+"\r\n")
	if code != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("GET with 64 KiB of headers = %d (%v), want 431", code, err)
	}
	// A full-size token in the query still fits.
	k = dialFrom(t, n, "127.0.0.1")
	if code, err := k.get("/healthz?access_token=" + strings.Repeat("t", 8<<10)); code != http.StatusOK {
		t.Fatalf("GET with an 8 KiB query = %d (%v)", code, err)
	}
}

// TestShortHTTPTimeoutsSpareSessions: the write, read and idle timeouts apply to requests, not
// to an upgraded WebSocket: a session outlives them several times over. The deadlines are the
// kernel's, so the test waits for real.
func TestShortHTTPTimeoutsSpareSessions(t *testing.T) {
	const d = 100 * time.Millisecond
	n := startNodeWith(t, func(c *Config) {
		c.HTTP.WriteTimeout, c.HTTP.ReadTimeout, c.HTTP.IdleTimeout, c.HTTP.ReadHeaderTimeout = d, d, d, d
	})
	c := connect(t, n, "r1", "ann")
	time.Sleep(5 * d)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Request(ctx, &protocol.Ping{TS: 1}); err != nil {
		t.Fatalf("ping after %v of timeouts of %v: %v", 5*d, d, err)
	}
}
