package fastpath

import (
	"net/netip"

	"github.com/podium-sfu/podium/sfu/udpsock"
)

// What tests elsewhere (sfu's, of Receivers and DownTracks on this path) need to see and set of
// a Transport without a DTLS handshake.

// Own makes the connection Podium's at once, as if DTLS had connected with keys while ICE had
// selected a pair from sock to addr (nil sock: a pair on no socket of Podium's).
func (t *Transport) Own(keys *Keys, sock *udpsock.Socket, addr netip.AddrPort) {
	t.keys.Store(keys)
	t.decided.Store(true)
	t.connected.Store(true)
	if sock == nil {
		t.setRoute(nil)
		return
	}
	t.setRoute(&route{sock: sock, addr: addr})
}

// Disconnect is DTLS closing: nothing more goes on Podium's path.
func (t *Transport) Disconnect() { t.connected.Store(false) }

// Keys are the keys of Podium's path, nil when the connection is pion's.
func (t *Transport) Keys() *Keys { return t.keys.Load() }

// Decided reports whether the connection's path was decided (DTLS connected).
func (t *Transport) Decided() bool { return t.decided.Load() }

// Routed reports whether the selected pair is on a socket of Podium's.
func (t *Transport) Routed() bool { return t.route.Load() != nil }

// KeysPassed reports whether a packet decrypted with the keys (their self-check passed).
func (t *Transport) KeysPassed() bool { return t.check.passed.Load() }

// Dropped is how many packets of layers Podium's read path has did not decrypt.
func (t *Transport) Dropped() uint64 { return t.in.dropped.Load() }

// TWCCID is the transport-wide sequence extension the stream stamps (0: none).
func (s *Stream) TWCCID() uint8 { return s.twccID }

// RemoteAddr is the client's address of the selected pair, when it is on a socket of Podium's.
func (t *Transport) RemoteAddr() (netip.AddrPort, bool) {
	if r := t.route.Load(); r != nil {
		return r.addr, true
	}
	return netip.AddrPort{}, false
}
