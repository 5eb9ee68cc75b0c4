package sfu

import "time"

// cachedKeyframeAge is how old a layer's last keyframe may be for a new down track to start
// from it (startFromCache) rather than ask for a new one; switchKeyframeAge the same for a down
// track switching from another layer, which has a picture already and replays less.
const (
	cachedKeyframeAge = time.Second
	switchKeyframeAge = 300 * time.Millisecond
)

// startFromCache starts a down track at its target layer's last keyframe, replayed from the
// cache with what followed it up to p (excluded), when that keyframe is recent and within the
// munger's window: a new down track (nothing sent yet), or one switching from layer cur to
// p's. A subscriber that comes, or switches, just after another's keyframe sees the picture at
// once instead of waiting out the keyframe-request throttle and the publisher's own (Galène
// replays the same way): when the stage moves, the subscribers whose allocation ran after the
// new speaker's keyframe went by waited 500 ms more. Called by WriteRTP without d.mu, where
// the layer's packets are written: one goroutine at a time.
func (d *DownTrack) startFromCache(p *Packet, cur int32) bool {
	maxAge := int64(cachedKeyframeAge)
	switch {
	case cur == LayerNone && d.packets.Load() == 0:
	case cur != LayerNone:
		maxAge = int64(switchKeyframeAge)
	default:
		return false // resumed after a pause: the old picture is long gone, a new keyframe comes
	}
	l := d.receiver.layers[p.Layer].Load()
	if l == nil {
		return false
	}
	at := l.keyAt.Load()
	from, to := uint16(l.keySeq.Load()), p.Header.SequenceNumber
	if at == 0 || p.Arrival-at > maxAge || int16(to-from) <= 0 || int16(to-from) >= 64 {
		return false
	}
	d.rtcpMu.Lock() // the resend scratch
	defer d.rtcpMu.Unlock()
	if n := l.cache.Get(from, d.rtxIn); n == 0 || !d.receiver.parse(d.rtxIn[:n], &d.rtxPkt) || !d.rtxPkt.Keyframe {
		return false
	}
	k := &d.rtxPkt
	d.mu.Lock()
	if d.current.Load() != cur || d.target.Load() != int32(p.Layer) {
		d.mu.Unlock()
		return false
	}
	d.munger.Switch(k.Header.SequenceNumber, k.Header.Timestamp, d.tsStepLocked(at), vp8Fields(&k.VP8))
	d.temporal.known = false // the new layer's timestamps have a base of their own
	d.current.Store(int32(p.Layer))
	d.mu.Unlock()
	d.switches.Add(1)
	if d.onLayer != nil {
		d.onLayer(p.Layer)
	}
	for src := from; src != to; src++ {
		if src != from {
			if n := l.cache.Get(src, d.rtxIn); n == 0 || !d.receiver.parse(d.rtxIn[:n], &d.rtxPkt) {
				continue // lost upstream: the subscriber's NACK finds nothing either
			}
		}
		k := &d.rtxPkt
		d.mu.Lock()
		out, ts, vp8, off, ok := d.rewriteLocked(k)
		d.mu.Unlock()
		if !ok {
			continue
		}
		d.remember(out, p.Layer, src, off)
		k.Layer, k.batch = p.Layer, nil
		if d.send(&d.rtx, k, out, ts, vp8, off) {
			d.packets.Add(1)
			d.bytes.Add(uint64(len(k.Payload) + 12))
		}
	}
	return true
}
