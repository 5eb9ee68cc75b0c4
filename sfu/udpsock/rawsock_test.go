package udpsock

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"
)

func loopbackUDP(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func addrPort(c *net.UDPConn) netip.AddrPort { return c.LocalAddr().(*net.UDPAddr).AddrPort() }

// TestRawSocketRoundTrip: what the raw writer sends, the raw reader reads whole, with the
// sender's address, in order; waiting for a datagram parks on the netpoller (the deadline ends
// it) and a closed socket ends the reader.
func TestRawSocketRoundTrip(t *testing.T) {
	a, b := loopbackUDP(t), loopbackUDP(t)
	w, r := NewWriter(a), NewReader(b)
	buf := make([]byte, 2048)

	for i := range 20 {
		msg := bytes.Repeat([]byte{byte(i)}, 100+50*i)
		if n, err := w.WriteToUDPAddrPort(msg, addrPort(b)); err != nil || n != len(msg) {
			t.Fatalf("write %d: %d, %v", i, n, err)
		}
	}
	for i := range 20 {
		n, from, _, err := r.Read(buf)
		if err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
		if from != addrPort(a) {
			t.Fatalf("read %d from %v, sent from %v", i, from, addrPort(a))
		}
		if want := bytes.Repeat([]byte{byte(i)}, 100+50*i); !bytes.Equal(buf[:n], want) {
			t.Fatalf("read %d: %d bytes, want %d of %d", i, n, len(want), i)
		}
	}

	// A datagram larger than the buffer is cut to it, as recvfrom (and net.UDPConn) do.
	if _, err := w.WriteToUDPAddrPort(make([]byte, 1500), addrPort(b)); err != nil {
		t.Fatal(err)
	}
	if n, _, _, err := r.Read(buf[:1000]); err != nil || n != 1000 {
		t.Fatalf("long datagram: %d, %v", n, err)
	}

	// Nothing queued: the reader waits, and the deadline ends the wait.
	_ = b.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	start := time.Now()
	if _, _, _, err := r.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read with nothing queued: %v", err)
	}
	if waited := time.Since(start); waited < 40*time.Millisecond {
		t.Fatalf("the read returned after %v, before its deadline", waited)
	}
	_ = b.SetReadDeadline(time.Time{})

	// A datagram that comes while the reader waits wakes it.
	go func() {
		time.Sleep(20 * time.Millisecond)
		_, _ = w.WriteToUDPAddrPort([]byte("late"), addrPort(b))
	}()
	if n, _, _, err := r.Read(buf); err != nil || string(buf[:n]) != "late" {
		t.Fatalf("waiting read: %q, %v", buf[:n], err)
	}

	// Closing the socket ends a waiting reader.
	done := make(chan error, 1)
	go func() {
		_, _, _, err := r.Read(buf)
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	b.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a read on a closed socket returned no error")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("closing the socket did not end the read")
	}
}

// TestRawSocketDoesNotAllocate: the media sockets' reads and writes are on the hot path.
func TestRawSocketDoesNotAllocate(t *testing.T) {
	a, b := loopbackUDP(t), loopbackUDP(t)
	w, r := NewWriter(a), NewReader(b)
	msg, buf := make([]byte, 1100), make([]byte, 2048)
	dst := addrPort(b)
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := w.WriteToUDPAddrPort(msg, dst); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := r.Read(buf); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0 {
		t.Fatalf("%.1f allocations per datagram written and read", allocs)
	}
}

// TestRawWriterSendsConcurrently: pion's goroutines write on the same socket at once.
func TestRawWriterSendsConcurrently(t *testing.T) {
	a, b := loopbackUDP(t), loopbackUDP(t)
	_ = b.SetReadBuffer(1 << 20)
	w := NewWriter(a)
	const writers, each = 8, 50
	errs := make(chan error, writers)
	for i := range writers {
		go func() {
			msg := []byte{byte(i), 0}
			for j := range each {
				msg[1] = byte(j)
				if _, err := w.WriteToUDPAddrPort(msg, addrPort(b)); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range writers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	seen := map[[2]byte]bool{}
	buf := make([]byte, 16)
	for len(seen) < writers*each {
		_ = b.SetReadDeadline(time.Now().Add(time.Second))
		n, _, err := b.ReadFrom(buf)
		if err != nil {
			t.Fatalf("%d of %d datagrams arrived: %v", len(seen), writers*each, err)
		}
		if n != 2 {
			t.Fatalf("a datagram of %d bytes", n)
		}
		seen[[2]byte{buf[0], buf[1]}] = true
	}
}

// TestRawSocketStampsArrival: a datagram read 150 ms after it came is reported with the time it
// came (the kernel's), not the time of the read.
func TestRawSocketStampsArrival(t *testing.T) {
	a, b := loopbackUDP(t), loopbackUDP(t)
	w, r := NewWriter(a), NewReader(b)
	buf := make([]byte, 64)
	// The kernel turns stamping on in deferred work: what comes first may be stamped at the read.
	if _, err := w.WriteToUDPAddrPort([]byte("warm-up"), addrPort(b)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(30 * time.Millisecond)
	if _, _, _, err := r.Read(buf); err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	if _, err := w.WriteToUDPAddrPort([]byte("stamp me"), addrPort(b)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond)
	_, _, at, err := r.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	if lag := time.Unix(0, at).Sub(sent); at == 0 || lag < -5*time.Millisecond || lag > 50*time.Millisecond {
		t.Errorf("arrival stamped %v after the send (at=%d), want within 50 ms: the read came 150 ms later", lag, at)
	}
}
