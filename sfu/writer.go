package sfu

import (
	"github.com/podium-sfu/podium/sfu/fanout"
	"github.com/podium-sfu/podium/sfu/packetcache"
	"github.com/podium-sfu/podium/sfu/udpsock"
)

// writer is one fan-out writer's scratch (fanout.Handler): it takes each packet from the
// layer's cache (stored once by the reader), parses it again, which costs far less than one
// subscriber's encryption, and sends it to the writer's down tracks in one sendmmsg batch.
type writer struct {
	r     *Receiver
	buf   [packetcache.MaxPacketSize]byte
	pkt   Packet
	batch udpsock.Batch
}

func (w *writer) Handle(it fanout.Item, tracks []*DownTrack) {
	cache := w.r.cache(int(it.Layer))
	n := 0
	if cache != nil {
		n = cache.Get(it.Seq, w.buf[:])
	}
	if n == 0 || !w.r.parse(w.buf[:n], &w.pkt) {
		w.r.pool.MissedOne() // overwritten while the writer was behind
		return
	}
	p := &w.pkt
	p.Layer, p.Arrival, p.Late, p.Newest, p.batch = int(it.Layer), it.Arrival, it.Late, it.Newest, &w.batch
	for _, d := range tracks {
		d.WriteRTP(p)
	}
	w.batch.Flush()
}
