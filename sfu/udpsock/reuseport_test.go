package udpsock

import (
	"net"
	"runtime"
	"testing"
	"time"
)

// TestUDPGroupSpreadsClients: the sockets of a group share one port, and the kernel spreads
// clients over them (Linux; elsewhere there is one socket).
func TestUDPGroupSpreadsClients(t *testing.T) {
	conns, err := ListenGroup(net.IPv4(127, 0, 0, 1), 0, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	if runtime.GOOS != "linux" {
		if len(conns) != 1 {
			t.Fatalf("%d sockets without SO_REUSEPORT", len(conns))
		}
		return
	}
	port := conns[0].LocalAddr().(*net.UDPAddr).Port
	for _, c := range conns {
		if c.LocalAddr().(*net.UDPAddr).Port != port {
			t.Fatalf("sockets on ports %v and %v", port, c.LocalAddr())
		}
	}
	const clients = 32
	for range clients {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.WriteTo([]byte("hello"), conns[0].LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	total, used := 0, 0
	buf := make([]byte, 64)
	for _, c := range conns {
		got := 0
		for {
			_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			if _, _, err := c.ReadFrom(buf); err != nil {
				break
			}
			got++
		}
		total += got
		if got > 0 {
			used++
		}
	}
	if total != clients || used < 2 {
		t.Errorf("%d datagrams over %d sockets: want %d over more than one", total, used, clients)
	}
}

// TestUDPGroupRefusesATakenPort: a port another socket holds is refused, as without
// SO_REUSEPORT, and a group's port is refused to a second group (a second server).
func TestUDPGroupRefusesATakenPort(t *testing.T) {
	lo := net.IPv4(127, 0, 0, 1)
	taken, err := net.ListenUDP("udp4", &net.UDPAddr{IP: lo})
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	port := taken.LocalAddr().(*net.UDPAddr).Port
	if conns, err := ListenGroup(lo, port, 4); err == nil {
		for _, c := range conns {
			c.Close()
		}
		t.Fatal("a group bound a port another socket holds")
	}
	group, err := ListenGroup(lo, 0, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, c := range group {
			c.Close()
		}
	}()
	if second, err := ListenGroup(lo, group[0].LocalAddr().(*net.UDPAddr).Port, 4); err == nil {
		for _, c := range second {
			c.Close()
		}
		t.Fatal("a second group joined the first one's port")
	}
}
