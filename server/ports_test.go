package server

import (
	"context"
	"strings"
	"testing"
)

// TestPortRule: one rule for every port — a number, 0 for a free one, -1 for off where off
// makes sense (ICE-TCP only).
func TestPortRule(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"http off", Config{HTTPPort: -1}, "HTTPPort -1"},
		{"udp off", Config{UDPPort: -1}, "UDPPort -1"},
		{"tcp below off", Config{TCPPort: -2}, "TCPPort -2"},
		{"too big", Config{UDPPort: 65536}, "UDPPort 65536"},
	} {
		if _, err := Start(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error naming %q", c.name, err, c.want)
		}
	}
	// The zero value: every port a free one, ICE-TCP on; -1 turns ICE-TCP off.
	for _, tcp := range []int{0, -1} {
		n, err := Start(Config{TCPPort: tcp, Media: sfuLoopback()})
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(n.HTTPURL(), ":0") || n.Engine().UDPAddr() == nil || (n.Engine().TCPAddr() == nil) != (tcp == -1) {
			t.Errorf("TCPPort %d: http %s, udp %v, tcp %v", tcp, n.HTTPURL(), n.Engine().UDPAddr(), n.Engine().TCPAddr())
		}
		if err := n.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}
