// Package packetcache keeps one copy of each recent packet of a published layer, for NACKs.
package packetcache

import "sync"

// MaxPacketSize is the largest RTP packet kept; anything bigger cannot cross a 1500-byte path anyway.
const MaxPacketSize = 1500

// Cache keeps the last packets of one publisher track, indexed by sequence number, so that
// every subscriber's NACK is served from one copy. Store and Get copy under a short mutex: the
// writer is the track's one reader goroutine, readers are the subscribers' RTCP goroutines.
type Cache struct {
	mu    sync.Mutex
	mask  uint16
	slots []cacheSlot
	data  []byte
}

type cacheSlot struct {
	seq   uint16
	size  uint16
	valid bool
}

// New makes a cache of size packets, rounded up to a power of two (at most 32768).
func New(size int) *Cache {
	n := 1
	for n < size && n < 1<<15 {
		n <<= 1
	}
	return &Cache{mask: uint16(n - 1), slots: make([]cacheSlot, n), data: make([]byte, n*MaxPacketSize)}
}

// Store copies one marshalled RTP packet.
func (c *Cache) Store(seq uint16, pkt []byte) {
	if len(pkt) > MaxPacketSize {
		return
	}
	i := int(seq & c.mask)
	c.mu.Lock()
	copy(c.data[i*MaxPacketSize:], pkt)
	c.slots[i] = cacheSlot{seq: seq, size: uint16(len(pkt)), valid: true}
	c.mu.Unlock()
}

// Get copies the packet with this sequence number into dst and returns its size, or 0 when the
// packet is gone (overwritten or never seen) or dst is too small.
func (c *Cache) Get(seq uint16, dst []byte) int {
	i := int(seq & c.mask)
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.slots[i]
	if !s.valid || s.seq != seq || int(s.size) > len(dst) {
		return 0
	}
	return copy(dst, c.data[i*MaxPacketSize:i*MaxPacketSize+int(s.size)])
}

// Has reports whether the packet with this sequence number is in the cache.
func (c *Cache) Has(seq uint16) bool {
	i := int(seq & c.mask)
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.slots[i]
	return s.valid && s.seq == seq
}

// Len is the cache's capacity in packets.
func (c *Cache) Len() int { return len(c.slots) }
