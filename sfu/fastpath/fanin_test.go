package fastpath

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/podium-sfu/podium/sfu/udpsock"
)

// TestFanInConn: whatever socket of the group a datagram arrives on, Podium's read path takes
// it when it is a routed client's RTCP, and pion's reader gets everything else, from the right
// address; Close ends the readers.
func TestFanInConn(t *testing.T) {
	conns, err := udpsock.ListenGroup(net.IPv4(127, 0, 0, 1), 0, 4)
	if err != nil {
		t.Fatal(err)
	}
	routes := &Routes{}
	var ins []*Conn
	for _, c := range conns {
		ins = append(ins, NewConn(c, routes))
	}
	fan := NewFanIn(ins)
	const clients = 16
	var senders []*net.UDPConn
	for range clients {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		senders = append(senders, c)
	}
	// Every client is also a subscriber whose RTCP Podium takes.
	keys, encrypt := clientKeys(t) // the subscriber's encryption context
	var transports []*Transport
	for _, c := range senders {
		tr := New(Params{Routes: routes})
		tr.Own(keys, udpsock.New(conns[0]), c.LocalAddr().(*net.UDPAddr).AddrPort())
		transports = append(transports, tr)
		b := []byte{0x80, 200, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
		enc, err := encrypt.EncryptRTCP(nil, b, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.WriteTo(enc, fan.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		if _, err := c.WriteTo(stunBinding, fan.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	from := map[netip.AddrPort]bool{}
	buf := make([]byte, 1500)
	for range clients {
		n, addr, err := fan.ReadFromAddrPort(buf)
		if err != nil {
			t.Fatal(err)
		}
		if string(buf[:n]) != string(stunBinding) {
			t.Fatalf("pion got %x, want only the STUN messages", buf[:n])
		}
		from[addr] = true
	}
	if len(from) != clients {
		t.Errorf("STUN from %d clients, want %d", len(from), clients)
	}
	deadline := time.Now().Add(2 * time.Second)
	for _, tr := range transports {
		for tr.RTCPTaken() != 1 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if tr.RTCPTaken() != 1 {
			t.Errorf("a client's RTCP was not taken")
		}
	}
	// A datagram larger than a media packet (pion reads up to 8 KiB) arrives whole.
	big := append(append([]byte(nil), stunBinding...), make([]byte, 4000)...)
	if _, err := senders[0].WriteTo(big, fan.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	if n, _, err := fan.ReadFromAddrPort(make([]byte, 8192)); err != nil || n != len(big) {
		t.Errorf("a %d-byte datagram arrived as %d bytes (%v)", len(big), n, err)
	}
	if err := fan.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := fan.ReadFromAddrPort(buf); err == nil {
		t.Error("read after Close succeeded")
	}
}
