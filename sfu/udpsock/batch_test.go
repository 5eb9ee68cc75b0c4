package udpsock

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"
)

// TestSendBatch: datagrams queued for several destinations over two sockets, more than one
// batch holds, arrive once each, intact and in order per destination.
func TestSendBatch(t *testing.T) {
	var sinks []*net.UDPConn
	var addrs []netip.AddrPort
	for range 3 {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		sinks = append(sinks, c)
		addrs = append(addrs, c.LocalAddr().(*net.UDPAddr).AddrPort())
	}
	socks := []*Socket{New(loopbackUDP(t)), New(loopbackUDP(t))}
	const total = 3*batchSize + 7
	bufs := make([][]byte, total)
	var b Batch
	for i := range total {
		bufs[i] = make([]byte, 1000)
		binary.BigEndian.PutUint32(bufs[i], uint32(i))
		bufs[i][999] = byte(i)
		b.Add(socks[(i/50)%2], bufs[i], addrs[i%3])
	}
	b.Flush()
	if b.n != 0 {
		t.Fatalf("%d datagrams left queued", b.n)
	}
	buf := make([]byte, 2000)
	for s, c := range sinks {
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		for i := s; i < total; i += 3 {
			n, err := c.Read(buf)
			if err != nil {
				t.Fatalf("sink %d: datagram %d: %v", s, i, err)
			}
			if got := binary.BigEndian.Uint32(buf); n != 1000 || got != uint32(i) || buf[999] != byte(i) {
				t.Fatalf("sink %d: got datagram %d (%d bytes), want %d", s, got, n, i)
			}
		}
		_ = c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if _, err := c.Read(buf); err == nil {
			t.Errorf("sink %d: a datagram too many", s)
		}
	}
}
