package packetcache

import (
	"bytes"
	"testing"
)

func TestPacketCache(t *testing.T) {
	c := New(100) // rounds up to 128
	if c.Len() != 128 {
		t.Fatalf("Len = %d, want 128", c.Len())
	}
	dst := make([]byte, MaxPacketSize)
	for _, tc := range []struct {
		name  string
		store []uint16
		get   uint16
		want  bool
	}{
		{"stored", []uint16{10}, 10, true},
		{"never stored", []uint16{10}, 11, false},
		{"overwritten by seq+128", []uint16{20, 20 + 128}, 20, false},
		{"newer kept", []uint16{30, 30 + 128}, 30 + 128, true},
		{"wraparound", []uint16{65535, 0}, 65535, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, s := range tc.store {
				c.Store(s, []byte{byte(s), byte(s >> 8), 0xAA})
			}
			n := c.Get(tc.get, dst)
			if (n > 0) != tc.want {
				t.Fatalf("Get(%d) = %d bytes, want found=%v", tc.get, n, tc.want)
			}
			if n > 0 && !bytes.Equal(dst[:n], []byte{byte(tc.get), byte(tc.get >> 8), 0xAA}) {
				t.Fatalf("Get(%d) = %x", tc.get, dst[:n])
			}
		})
	}
	if n := c.Get(10, make([]byte, 1)); n != 0 {
		t.Fatalf("Get into a short buffer = %d, want 0", n)
	}
	c.Store(1, make([]byte, MaxPacketSize+1))
	if n := c.Get(1, dst); n != 0 {
		t.Fatalf("oversize packet was cached")
	}
}
