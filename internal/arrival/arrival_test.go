//go:build linux

package arrival

import (
	"net"
	"testing"
	"time"
)

// TestStampIsTheTimeOfArrival: a datagram read 150 ms after it came carries the time it came.
func TestStampIsTheTimeOfArrival(t *testing.T) {
	lo := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}
	recv, err := net.ListenUDP("udp4", lo)
	if err != nil {
		t.Fatal(err)
	}
	defer recv.Close()
	send, err := net.ListenUDP("udp4", lo)
	if err != nil {
		t.Fatal(err)
	}
	defer send.Close()
	raw, err := recv.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	if !Stamp(raw) {
		t.Fatal("the kernel refused SO_TIMESTAMPNS")
	}
	buf, oob := make([]byte, 16), make([]byte, 64)
	// The kernel turns stamping on in deferred work: what comes first may be stamped at the read.
	if _, err := send.WriteTo([]byte("warm-up"), recv.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(30 * time.Millisecond)
	if _, _, _, _, err := recv.ReadMsgUDP(buf, oob); err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	if _, err := send.WriteTo([]byte("x"), recv.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond)
	_, oobn, _, _, err := recv.ReadMsgUDP(buf, oob)
	if err != nil {
		t.Fatal(err)
	}
	at, ok := Read(oob[:oobn])
	if lag := time.Unix(0, at).Sub(sent); !ok || lag < -5*time.Millisecond || lag > 50*time.Millisecond {
		t.Errorf("stamped %v after the send (found: %v), want within 50 ms: the read came 150 ms later", lag, ok)
	}
	if _, ok := Read(oob[:oobn-1]); ok {
		t.Error("a cut control message read as a stamp")
	}
	if _, ok := Read(nil); ok {
		t.Error("no control message read as a stamp")
	}
}
