package shaper

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

// listen opens a shaped socket on 127.0.0.1 and a plain one to send to it from.
func listen(t *testing.T, link *Link) (shaped, plain net.PacketConn) {
	t.Helper()
	n, err := Net(nil, link)
	if err != nil {
		t.Fatal(err)
	}
	c, err := n.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadBuffer(1 << 20)
	p, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(); _ = p.Close() })
	return c, p
}

// A real socket behind a 4 Mbps link: 100 datagrams of 1000 bytes sent at once take at least
// the 200 ms the link needs for them, arrive in order and whole; with a 10 kB queue most of a
// burst is dropped. The bounds are lower bounds (a busy machine only delays more), and generous
// upper ones.
func TestNetShapesASocket(t *testing.T) {
	for _, c := range []struct {
		queue      int
		minN, maxN int
		minT       time.Duration
	}{
		{queue: 200_000, minN: 100, maxN: 100, minT: 198 * time.Millisecond},
		{queue: 10_000, minN: 10, maxN: 12, minT: 20 * time.Millisecond},
	} {
		link := NewLink(Config{Rate: 4_000_000, QueueBytes: c.queue}, time.Now())
		shaped, plain := listen(t, link)
		start := time.Now()
		msg := make([]byte, 1000)
		for i := range 100 {
			msg[0] = byte(i)
			if _, err := plain.WriteTo(msg, shaped.LocalAddr()); err != nil {
				t.Fatal(err)
			}
		}
		got, last := 0, time.Duration(0)
		buf := make([]byte, 2000)
		for got < 100 {
			_ = shaped.SetReadDeadline(time.Now().Add(2 * time.Second))
			n, from, err := shaped.ReadFrom(buf)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if n != 1000 || from.String() != plain.LocalAddr().String() {
				t.Fatalf("read %d bytes from %v", n, from)
			}
			if c.queue > 100_000 && int(buf[0]) != got {
				t.Fatalf("datagram %d arrived as number %d", buf[0], got)
			}
			got++
			last = time.Since(start)
		}
		if got < c.minN || got > c.maxN || last < c.minT || last > 10*time.Second {
			t.Errorf("queue %d B: %d datagrams in %v, want %d..%d taking at least %v", c.queue, got, last, c.minN, c.maxN, c.minT)
		}
		_, dropped, _ := Traffic(link.Bins(), link.Start(), link.Start(), time.Now().Add(time.Second))
		if dropped != 100-got {
			t.Errorf("queue %d B: the link counted %d drops, %d did not arrive", c.queue, dropped, 100-got)
		}
	}
}

// Close and a deadline in the past end a read that waits for the link, as pion ends its
// receive loop (SetDeadline(now), then Close).
func TestNetReadEnds(t *testing.T) {
	shaped, _ := listen(t, NewLink(Config{Rate: 1_000_000, QueueBytes: 10_000}, time.Now()))
	done := make(chan error, 1)
	go func() { _, _, err := shaped.ReadFrom(make([]byte, 1500)); done <- err }()
	time.Sleep(20 * time.Millisecond) // let it block
	_ = shaped.SetDeadline(time.Now())
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("read after a past deadline: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a past deadline did not end the read")
	}
	_ = shaped.SetDeadline(time.Time{})
	go func() { _, _, err := shaped.ReadFrom(make([]byte, 1500)); done <- err }()
	time.Sleep(20 * time.Millisecond)
	if err := shaped.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Error("read after Close: no error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end the read")
	}
}

// A late read gets the time the datagram left the link, not the time of the read: the Go
// SDK's congestion feedback stamps that, as it stamps the kernel's time on a host socket. A
// busy load generator that read late otherwise made a burst look as if the link were fast.
func TestNetArrivalIsWhenItLeftTheLink(t *testing.T) {
	shaped, plain := listen(t, NewLink(Config{Rate: 8_000_000, QueueBytes: 100_000}, time.Now()))
	ar, ok := shaped.(interface {
		ReadFromArrival([]byte) (int, net.Addr, time.Time, error)
	})
	if !ok {
		t.Fatalf("%T has no ReadFromArrival", shaped)
	}
	sent := time.Now()
	for range 10 {
		if _, err := plain.WriteTo(make([]byte, 1000), shaped.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(200 * time.Millisecond) // read late
	var prev time.Time
	for i := range 10 {
		_, _, at, err := ar.ReadFromArrival(make([]byte, 1500))
		if err != nil {
			t.Fatal(err)
		}
		if at.Sub(sent) > 150*time.Millisecond {
			t.Fatalf("datagram %d: arrival %v after sending, the time of the late read", i, at.Sub(sent))
		}
		if i > 0 && at.Sub(prev) < time.Millisecond-time.Microsecond {
			t.Errorf("datagrams %d and %d arrived %v apart, want 1 ms (1000 bytes at 8 Mbps)", i-1, i, at.Sub(prev))
		}
		prev = at
	}
}
