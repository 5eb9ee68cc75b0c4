package publicip

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/podium-sfu/podium/publicip/stuntest"
)

// stunServer runs a stuntest server until the test ends.
func stunServer(t testing.TB, mapped netip.Addr, stray bool) string {
	t.Helper()
	s, err := stuntest.Start(stuntest.Config{Mapped: mapped, Stray: stray})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s.Addr()
}

var public = netip.MustParseAddr("203.0.113.7")

func TestDiscoverReadsTheMappedAddress(t *testing.T) {
	got, err := Discover(context.Background(), Config{Servers: []string{stunServer(t, public, true)}, LocalIP: "127.0.0.1"})
	if err != nil || got != public {
		t.Fatalf("Discover = %v, %v; want %v", got, err, public)
	}
}

// TestDiscoverGoesOnToTheNextServer: a server that never answers costs its tries (here one of
// 20 ms, a real-time wait) and the next one is asked.
func TestDiscoverGoesOnToTheNextServer(t *testing.T) {
	silent, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	cfg := Config{Servers: []string{silent.LocalAddr().String(), stunServer(t, public, false)}, LocalIP: "127.0.0.1", Tries: 1, Wait: 20 * time.Millisecond}
	if got, err := Discover(context.Background(), cfg); err != nil || got != public {
		t.Fatalf("Discover = %v, %v; want %v", got, err, public)
	}
	cfg.Servers = cfg.Servers[:1]
	if _, err := Discover(context.Background(), cfg); !errors.Is(err, ErrNoAnswer) {
		t.Fatalf("a silent server: %v, want ErrNoAnswer", err)
	}
}

func TestDiscoverStopsWithItsContext(t *testing.T) {
	silent, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	// The context ends while Discover waits for an answer due in an hour (a real-time 50 ms).
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	cfg := Config{Servers: []string{silent.LocalAddr().String(), silent.LocalAddr().String()}, LocalIP: "127.0.0.1", Wait: time.Hour}
	if _, err := Discover(ctx, cfg); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want context.DeadlineExceeded", err)
	}
}
