package connlimit

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// fakeListener hands out the server ends of in-memory pipes, each from the address its test
// chose: admission needs no sockets and no timing.
type fakeListener struct {
	conns chan net.Conn
}

func (f *fakeListener) Accept() (net.Conn, error) {
	c, ok := <-f.conns
	if !ok {
		return nil, net.ErrClosed
	}
	return c, nil
}
func (f *fakeListener) Close() error   { return nil }
func (f *fakeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 7880} }

type fromConn struct {
	net.Conn
	from net.Addr
}

func (c fromConn) RemoteAddr() net.Addr { return c.from }

type harness struct {
	t    *testing.T
	fake *fakeListener
	l    *Listener
}

func newHarness(t *testing.T, cfg Config) *harness {
	f := &fakeListener{conns: make(chan net.Conn, 16)}
	return &harness{t: t, fake: f, l: New(f, cfg)}
}

// dial queues a connection from ip and returns the client's end.
func (h *harness) dial(ip string) net.Conn {
	server, client := net.Pipe()
	h.fake.conns <- fromConn{Conn: server, from: &net.TCPAddr{IP: net.ParseIP(ip), Port: 40000}}
	h.t.Cleanup(func() { client.Close(); server.Close() })
	return client
}

// accept returns the next admitted connection; rejected ones queued before it are closed by then.
func (h *harness) accept() net.Conn {
	h.t.Helper()
	c, err := h.l.Accept()
	if err != nil {
		h.t.Fatalf("accept: %v", err)
	}
	return c
}

// closedByServer reports whether the server closed its end of client's pipe.
func closedByServer(t *testing.T, client net.Conn) bool {
	t.Helper()
	_ = client.SetReadDeadline(time.Now().Add(time.Second)) // an open pipe would block: fail fast
	_, err := client.Read(make([]byte, 1))
	return errors.Is(err, io.EOF)
}

func (h *harness) wantStats(want Stats) {
	h.t.Helper()
	if got := h.l.Stats(); got != want {
		h.t.Fatalf("stats %+v, want %+v", got, want)
	}
}

// TestPerKeyCap: a client at its cap is closed at once and counted while another client gets
// in; closing one of its connections gives the slot back.
func TestPerKeyCap(t *testing.T) {
	var heard []error
	h := newHarness(t, Config{MaxPerKey: 2, Rejected: func(_ net.Addr, why error) { heard = append(heard, why) }})
	a1c := h.dial("192.0.2.1")
	a1 := h.accept()
	h.dial("192.0.2.1")
	h.accept()
	over := h.dial("192.0.2.1")
	h.dial("198.51.100.7")
	h.accept() // the other client's: the one over the cap was skipped
	if !closedByServer(t, over) {
		t.Fatal("the connection over the per-client cap was not closed")
	}
	h.wantStats(Stats{Open: 3, RejectedPerKey: 1})
	if len(heard) != 1 || !errors.Is(heard[0], ErrPerKeyCap) {
		t.Fatalf("Rejected heard %v, want one ErrPerKeyCap", heard)
	}
	_ = a1.Close()
	_ = a1.Close() // a second Close must not give the slot back twice
	if !closedByServer(t, a1c) {
		t.Fatal("Close did not close the connection")
	}
	h.dial("192.0.2.1")
	h.accept()
	h.wantStats(Stats{Open: 3, RejectedPerKey: 1})
}

// TestGlobalCapWithoutIdle: at the global cap with every connection busy, a new one is refused.
func TestGlobalCapWithoutIdle(t *testing.T) {
	h := newHarness(t, Config{Max: 2})
	h.dial("192.0.2.1")
	first := h.accept()
	h.dial("192.0.2.2")
	h.accept()
	h.l.SetIdle(first, true)
	h.l.SetIdle(first, false) // busy again (a new request on the keep-alive): not a candidate
	got := make(chan net.Conn, 1)
	go func() { // ends with the Accept below the cap
		c, _ := h.l.Accept()
		got <- c
	}()
	over := h.dial("192.0.2.3")
	if !closedByServer(t, over) {
		t.Fatal("the connection over the global cap was not closed")
	}
	h.wantStats(Stats{Open: 2, RejectedTotal: 1})
	_ = first.Close()
	h.dial("192.0.2.4")
	if c := <-got; c == nil || c.RemoteAddr().String() != "192.0.2.4:40000" {
		t.Fatalf("accepted %v after a slot was freed, want the connection from 192.0.2.4", c)
	}
	h.wantStats(Stats{Open: 2, RejectedTotal: 1})
}

// TestGlobalCapEvictsLongestIdle: at the global cap a new connection takes the slot of the
// connection idle the longest, which is closed; its owner's later Close changes nothing.
func TestGlobalCapEvictsLongestIdle(t *testing.T) {
	h := newHarness(t, Config{Max: 2})
	c1c := h.dial("192.0.2.1")
	c1 := h.accept()
	c2c := h.dial("192.0.2.1")
	c2 := h.accept()
	h.l.SetIdle(c2, true) // c2 went idle first
	h.l.SetIdle(c1, true)
	h.wantStats(Stats{Open: 2, Idle: 2})
	h.dial("192.0.2.9")
	h.accept()
	if !closedByServer(t, c2c) {
		t.Fatal("the longest-idle connection was not closed")
	}
	h.wantStats(Stats{Open: 2, Idle: 1, Evicted: 1})
	_ = c2.Close()        // what http.Server does once its read fails
	h.l.SetIdle(c2, true) // a late report of the closed connection is ignored
	h.wantStats(Stats{Open: 2, Idle: 1, Evicted: 1})
	_ = c1c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	if _, err := c1c.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the other idle connection was touched: read %v", err)
	}
}

func TestClientKey(t *testing.T) {
	tests := []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 1}, "192.0.2.1"},
		{&net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.1"), Port: 2}, "192.0.2.1"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:aaaa::1"), Port: 3}, "2001:db8:1:2::/64"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:bbbb::9"), Port: 4}, "2001:db8:1:2::/64"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8:1:3::1"), Port: 5}, "2001:db8:1:3::/64"},
		{&net.UDPAddr{IP: net.ParseIP("192.0.2.5"), Port: 6}, "192.0.2.5"},
		{&net.UnixAddr{Name: "/run/podium.sock", Net: "unix"}, "/run/podium.sock"},
	}
	for _, tt := range tests {
		if got := ClientKey(tt.addr); got != tt.want {
			t.Errorf("ClientKey(%v) = %q, want %q", tt.addr, got, tt.want)
		}
	}
}

func TestFit(t *testing.T) {
	tests := []struct {
		name   string
		want   int
		nofile uint64
		fit    int
	}{
		{"unknown limit keeps the cap", 4096, 0, 4096},
		{"a large limit keeps the cap", 4096, 1 << 20, 4096},
		{"ulimit -n 256: 64 stay free", 4096, 256, 192},
		{"ulimit -n 1024: a quarter stays free", 4096, 1024, 768},
		{"no cap becomes the descriptor bound", -1, 1024, 768},
		{"a cap under the bound is kept", 100, 1024, 100},
		{"a tiny limit still admits one", 4096, 50, 1},
		{"an infinite limit", 4096, ^uint64(0), 4096},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Fit(tt.want, tt.nofile); got != tt.fit {
				t.Errorf("Fit(%d, %d) = %d, want %d", tt.want, tt.nofile, got, tt.fit)
			}
		})
	}
}
