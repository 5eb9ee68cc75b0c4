package fastpath

import (
	"bytes"
	"net"
	"testing"

	"github.com/pion/srtp/v3"

	"github.com/podium-sfu/podium/sfu/udpsock"
)

// mediaSocket is the server's side of a direct path test.
func mediaSocket(t testing.TB) *udpsock.Socket {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return udpsock.New(conn)
}

func testKeys() *Keys {
	return &Keys{Profile: srtp.ProtectionProfileAeadAes128Gcm, Key: bytes.Repeat([]byte{7}, 16), Salt: bytes.Repeat([]byte{9}, 12)}
}

// clientKeys are testKeys with the client's side too, and the client's context, which
// encrypts what it sends.
func clientKeys(t testing.TB) (*Keys, *srtp.Context) {
	keys := testKeys()
	keys.RemoteKey, keys.RemoteSalt = bytes.Repeat([]byte{3}, 16), bytes.Repeat([]byte{5}, 12)
	enc, err := srtp.CreateContext(keys.RemoteKey, keys.RemoteSalt, keys.Profile)
	if err != nil {
		t.Fatal(err)
	}
	return keys, enc
}

var stunBinding = []byte{0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
