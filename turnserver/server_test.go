package turnserver

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/logging"
	"github.com/pion/turn/v5"
	"golang.org/x/sys/unix"
)

const secret = "a-shared-secret-for-the-tests"

// clock is a test clock that only moves when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestCredentialsAreTheRESTScheme checks the credentials against pion's implementation of the
// TURN REST scheme, the one coturn's use-auth-secret follows: same username, same password,
// and pion's handler derives the same key from them.
func TestCredentialsAreTheRESTScheme(t *testing.T) {
	user, pass, err := turn.GenerateLongTermTURNRESTCredentials(secret, "alice", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	expiry, identity, _ := strings.Cut(user, ":")
	unix, _ := strconv.ParseInt(expiry, 10, 64)
	got := NewCredentials(secret, identity, time.Unix(unix, 0))
	if got.Username != user || got.Password != pass {
		t.Fatalf("NewCredentials = %+v, pion's = %q %q", got, user, pass)
	}
	ra := &turn.RequestAttributes{Username: got.Username, Realm: "podium"}
	_, pionKey, ok := turn.LongTermTURNRESTAuthHandler(secret, logging.NewDefaultLoggerFactory().NewLogger("test"))(ra)
	id, key, ok2 := authHandler(secret, time.Now, func(string, string) {})(ra)
	if !ok || !ok2 || string(key) != string(pionKey) || id != "alice" {
		t.Fatalf("keys differ: pion ok=%v ours ok=%v id=%q", ok, ok2, id)
	}
}

func TestAuthHandlerRefuses(t *testing.T) {
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	var reasons []string
	h := authHandler(secret, clk.now, func(_, why string) { reasons = append(reasons, why) })
	good := NewCredentials(secret, "bob", clk.now().Add(time.Minute))
	for _, u := range []string{"bob", "soon:bob", good.Username[:strings.IndexByte(good.Username, ':')+1]} {
		if _, _, ok := h(&turn.RequestAttributes{Username: u}); ok {
			t.Errorf("%q accepted", u)
		}
	}
	if _, _, ok := h(&turn.RequestAttributes{Username: good.Username}); !ok {
		t.Fatal("fresh credentials refused")
	}
	clk.add(time.Minute + time.Second)
	if _, _, ok := h(&turn.RequestAttributes{Username: good.Username}); ok {
		t.Fatal("expired credentials accepted")
	}
	if len(reasons) != 4 || reasons[3] != "expired" {
		t.Fatalf("refusals reported: %q", reasons)
	}
}

// startServer runs a TURN server on free loopback ports, relaying to peers only.
func startServer(t *testing.T, clk *clock, peers ...netip.AddrPort) *Server {
	t.Helper()
	s, err := Start(Config{UDPPort: 0, TCPPort: 0, TLSPort: -1, Secret: secret, Peers: peers, Now: clk.now, MaxAllocations: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// dial makes a pion TURN client over UDP or TCP.
func dial(t *testing.T, s *Server, network string, c Credentials) *turn.Client {
	t.Helper()
	var conn net.PacketConn
	addr := s.UDPAddr().String()
	if network == "udp" {
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		conn = pc
	} else {
		addr = s.TCPAddr().String()
		tc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conn = turn.NewSTUNConn(tc)
	}
	cl, err := turn.NewClient(&turn.ClientConfig{STUNServerAddr: addr, TURNServerAddr: addr, Conn: conn,
		Username: c.Username, Password: c.Password, RTO: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.Listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close(); _ = conn.Close() })
	return cl
}

// TestAllocateOnlyWithGoodCredentials allocates over UDP and TCP with fresh credentials, and
// is refused with a wrong password, a stranger's secret, or after expiry.
func TestAllocateOnlyWithGoodCredentials(t *testing.T) {
	clk := &clock{t: time.Now()}
	s := startServer(t, clk)
	fresh := NewCredentials(secret, "alice", clk.now().Add(time.Hour))
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			relay, err := dial(t, s, network, fresh).Allocate()
			if err != nil {
				t.Fatalf("fresh credentials: %v", err)
			}
			if ip := relay.LocalAddr().(*net.UDPAddr).IP; !ip.Equal(net.IPv4(127, 0, 0, 1)) {
				t.Errorf("relayed address %v, want the relay IP", ip)
			}
			_ = relay.Close()
			wrong := fresh
			wrong.Password = NewCredentials("another-secret", "alice", clk.now().Add(time.Hour)).Password
			if _, err := dial(t, s, network, wrong).Allocate(); err == nil {
				t.Fatal("another secret's password allocated")
			}
			expired := NewCredentials(secret, "alice", clk.now().Add(-time.Second))
			if _, err := dial(t, s, network, expired).Allocate(); err == nil {
				t.Fatal("expired credentials allocated")
			}
		})
	}
	if s.Refused() == 0 {
		t.Error("no refusal counted")
	}
}

// TestCredentialsExpireOnTheServerClock: credentials that were good stop allocating once the
// server's clock passes their expiry.
func TestCredentialsExpireOnTheServerClock(t *testing.T) {
	clk := &clock{t: time.Now()}
	s := startServer(t, clk)
	c := NewCredentials(secret, "carol", clk.now().Add(time.Minute))
	relay, err := dial(t, s, "udp", c).Allocate()
	if err != nil {
		t.Fatal(err)
	}
	_ = relay.Close()
	clk.add(2 * time.Minute)
	if _, err := dial(t, s, "udp", c).Allocate(); err == nil {
		t.Fatal("credentials past their expiry allocated")
	}
}

// TestPermissionsForPeersOnly: a client may relay to the SFU's address and to no other.
func TestPermissionsForPeersOnly(t *testing.T) {
	sfu := listenUDP(t)
	clk := &clock{t: time.Now()}
	s := startServer(t, clk, sfu.LocalAddr().(*net.UDPAddr).AddrPort())
	cl := dial(t, s, "udp", NewCredentials(secret, "dave", clk.now().Add(time.Hour)))
	relay, err := cl.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	if err := cl.CreatePermission(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 2), Port: 9}); err == nil {
		t.Error("permission granted for an address that is not a peer")
	}
	if _, err := relay.WriteTo([]byte("to sfu"), sfu.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	_ = sfu.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, _, err := sfu.ReadFrom(buf); err != nil || string(buf[:n]) != "to sfu" {
		t.Fatalf("peer got %q, %v", buf[:n], err)
	}
}

// TestRelaySocketsSendToPeersOnly: permissions go by IP, so the relay sockets themselves keep
// packets from other ports of the SFU's address.
func TestRelaySocketsSendToPeersOnly(t *testing.T) {
	sfu, other := listenUDP(t), listenUDP(t) // one address, two ports
	cfg := Config{Secret: secret, UDPPort: 0, TCPPort: -1, TLSPort: -1, Peers: []netip.AddrPort{sfu.LocalAddr().(*net.UDPAddr).AddrPort()}}
	if err := cfg.defaults(); err != nil {
		t.Fatal(err)
	}
	var relayed atomic.Uint64
	gen := relayGenerator(cfg, &relayed)
	if err := gen.Validate(); err != nil {
		t.Fatal(err)
	}
	relay, _, err := gen.AllocatePacketConn(turn.AllocateListenerConfig{Network: "udp4"})
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	if _, _, err := gen.AllocateListener(turn.AllocateListenerConfig{Network: "tcp4"}); !errors.Is(err, ErrTCPRelay) {
		t.Errorf("TCP relay: %v, want ErrTCPRelay", err)
	}
	for _, to := range []net.Addr{other.LocalAddr(), sfu.LocalAddr()} {
		if _, err := relay.WriteTo([]byte("hello"), to); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 64)
	_ = sfu.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := sfu.ReadFrom(buf); err != nil {
		t.Fatalf("the peer got nothing: %v", err)
	}
	// Loopback delivers at send time, and the other port's packet was sent first.
	if n := pending(t, other, buf); n >= 0 {
		t.Fatalf("a port that is not a peer got %q", buf[:n])
	}
	if relayed.Load() != 1 {
		t.Errorf("%d packets counted as relayed, want 1", relayed.Load())
	}
}

// pending reads a datagram already queued on pc without waiting: its length, or -1 for none.
// (A read deadline in the past fails before looking at the socket.)
func pending(t *testing.T, pc net.PacketConn, buf []byte) int {
	t.Helper()
	raw, err := pc.(*net.UDPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	n := -1
	if err := raw.Read(func(fd uintptr) bool {
		got, _, err := unix.Recvfrom(int(fd), buf, unix.MSG_DONTWAIT)
		if err == nil {
			n = got
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestQuotaPerIdentity(t *testing.T) {
	clk := &clock{t: time.Now()}
	s := startServer(t, clk) // two allocations each
	c := NewCredentials(secret, "erin", clk.now().Add(time.Hour))
	for i := range 2 {
		if _, err := dial(t, s, "udp", c).Allocate(); err != nil {
			t.Fatalf("allocation %d: %v", i+1, err)
		}
	}
	if _, err := dial(t, s, "udp", c).Allocate(); err == nil {
		t.Fatal("a third allocation passed a quota of two")
	}
	if got := s.AllocationsOf("erin"); got != 2 {
		t.Errorf("AllocationsOf(erin) = %d, want 2", got)
	}
	if _, err := dial(t, s, "udp", NewCredentials(secret, "frank", clk.now().Add(time.Hour))).Allocate(); err != nil {
		t.Fatalf("another identity refused: %v", err)
	}
}

func TestConfigRefused(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no secret":          {UDPPort: 0, TCPPort: -1, TLSPort: -1},
		"all off":            {UDPPort: -1, TCPPort: -1, TLSPort: -1, Secret: secret},
		"tls without cert":   {UDPPort: -1, TCPPort: -1, TLSPort: 0, Secret: secret},
		"any without relay":  {BindIP: "0.0.0.0", UDPPort: 0, TCPPort: -1, TLSPort: -1, Secret: secret},
		"half a relay range": {UDPPort: 0, TCPPort: -1, TLSPort: -1, Secret: secret, RelayPortMin: 50000},
	} {
		if s, err := Start(cfg); !errors.Is(err, ErrConfig) {
			if s != nil {
				_ = s.Close()
			}
			t.Errorf("%s: err %v, want ErrConfig", name, err)
		}
	}
}

func listenUDP(t *testing.T) net.PacketConn {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	return pc
}

// TestSilentConnectionsClosed: a TCP connection that says nothing is closed after the handshake
// timeout (here 50 ms of real time; the wait below allows 10 s), so that it holds no descriptor.
func TestSilentConnectionsClosed(t *testing.T) {
	wrapped := 0
	s, err := Start(Config{UDPPort: -1, TCPPort: 0, TLSPort: -1, Secret: secret, HandshakeTimeout: 50 * time.Millisecond,
		WrapListener: func(l net.Listener) net.Listener { wrapped++; return l }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if wrapped != 1 {
		t.Errorf("WrapListener called %d times, want 1", wrapped)
	}
	c, err := net.Dial("tcp", s.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read %v, want the server to close the connection", err)
	}
}
