package sfu

import (
	"sync/atomic"
	"time"
)

const (
	rateBucket  = 100 * time.Millisecond
	rateBuckets = 10 // a one-second moving window
)

// rateMeter measures bitrate and frame rate over a moving one-second window. add is called by
// one goroutine (the layer's reader); the published figures are read atomically by anyone.
type rateMeter struct {
	bytes  [rateBuckets]uint64
	frames [rateBuckets]uint32
	// tcur counts the current bucket's bytes of each VP8 temporal layer; tavg is their moving
	// average over the buckets before, over temporalWindow: each layer's share of the bitrate.
	// A second is too short for it: it holds 6 or 7 frames of a base layer that has a quarter
	// of the frames, and the price of a step would swing by 15 % from one second to the next.
	tcur      [MaxTemporalLayers]uint64
	tavg      [MaxTemporalLayers]float64
	cur       int
	curStart  int64
	bitrate   atomic.Uint64 // bits per second over the last full window
	fps       atomic.Uint32 // frames per second over the last full window
	lastAdded atomic.Int64  // unix nanos of the last packet
	// temporal[t] is the bitrate of temporal layers 0..t together: the bitrate by their share;
	// temporalLayers how many layers it saw (0: none marked, the stream is one layer).
	temporal       [MaxTemporalLayers]atomic.Uint64
	temporalLayers atomic.Uint32
}

// add counts a packet of size bytes; tid is its temporal layer, -1 when not marked.
func (m *rateMeter) add(now int64, size int, endOfFrame bool, tid int) {
	if m.curStart == 0 {
		m.curStart = now
	}
	if elapsed := now - m.curStart; elapsed >= int64(rateBucket) {
		n := int(elapsed / int64(rateBucket))
		m.averageTemporal()
		for i := 0; i < n && i < rateBuckets; i++ {
			m.cur = (m.cur + 1) % rateBuckets
			m.bytes[m.cur], m.frames[m.cur] = 0, 0
		}
		m.curStart += int64(n) * int64(rateBucket)
		m.publish()
	}
	m.bytes[m.cur] += uint64(size)
	if tid >= 0 && tid < MaxTemporalLayers {
		m.tcur[tid] += uint64(size)
	}
	if endOfFrame {
		m.frames[m.cur]++
	}
	m.lastAdded.Store(now)
}

// publish sums the completed buckets (all but the current one) into per-second figures.
func (m *rateMeter) publish() {
	var bytes uint64
	var frames uint32
	for i := range rateBuckets {
		if i != m.cur {
			bytes += m.bytes[i]
			frames += m.frames[i]
		}
	}
	window := float64(rateBuckets-1) * rateBucket.Seconds()
	bitrate := float64(bytes*8) / window
	m.bitrate.Store(uint64(bitrate))
	m.fps.Store(uint32(float64(frames)/window + 0.5))
	var total float64
	for _, b := range m.tavg {
		total += b
	}
	layers, sum := 0, 0.0
	for t, b := range m.tavg {
		if total <= 0 {
			break
		}
		sum += b
		if b > total/100 {
			layers = t + 1
		}
		m.temporal[t].Store(uint64(bitrate * sum / total))
	}
	m.temporalLayers.Store(uint32(layers))
}

// rates returns bitrate and frame rate; zero when nothing arrived for a second.
func (m *rateMeter) rates(now int64) (bps uint64, fps uint32) {
	if now-m.lastAdded.Load() > int64(time.Second) {
		return 0, 0
	}
	return m.bitrate.Load(), m.fps.Load()
}

// temporalWindow is the time constant of the temporal layers' shares.
const temporalWindow = 3 * time.Second

// averageTemporal folds the bucket that ends into the temporal layers' averages; a bucket
// without marked packets (a pause, or a stream without temporal layers) changes nothing.
func (m *rateMeter) averageTemporal() {
	var n uint64
	for _, b := range m.tcur {
		n += b
	}
	if n == 0 {
		return
	}
	const weight = float64(rateBucket) / float64(temporalWindow)
	for t, b := range m.tcur {
		m.tavg[t] += (float64(b) - m.tavg[t]) * weight
	}
	m.tcur = [MaxTemporalLayers]uint64{}
}
