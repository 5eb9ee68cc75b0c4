package sfu

// VP8 temporal layers: a publisher that sends them (Chrome does, three per simulcast layer)
// lets a down track thin a layer's frame rate, a finer step than the next simulcast layer
// down. A frame of temporal layer t references only frames of layers up to t, so leaving out
// every frame above a layer leaves a stream that decodes; the munger closes up the sequence
// numbers and picture ids the left-out frames held.

// MaxTemporalLayers is how many temporal layers the VP8 payload descriptor can mark (TID, 2 bits).
const MaxTemporalLayers = 4

// AllTemporal is the temporal target that forwards every frame.
const AllTemporal = MaxTemporalLayers - 1

// SetTargetTemporal chooses the highest temporal layer to forward, 0..AllTemporal. Going down
// happens at the next frame; going up at the next frame that allows it (a layer sync frame, or
// a keyframe). A stream without temporal layers is forwarded whole whatever the target.
func (d *DownTrack) SetTargetTemporal(t int) {
	d.temporalTarget.Store(int32(min(max(t, 0), AllTemporal)))
}

// TargetTemporal is the temporal layer asked for; CurrentTemporal the highest forwarded now.
func (d *DownTrack) TargetTemporal() int { return int(d.temporalTarget.Load()) }
func (d *DownTrack) CurrentTemporal() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return int(d.temporal.current)
}

// temporalState is the down track's choice of frames, guarded by d.mu.
type temporalState struct {
	current int8   // highest temporal layer forwarded
	frameTS uint32 // timestamp of the newest frame decided
	known   bool   // frameTS is set
	drop    bool   // the newest frame is left out
	// wantUpSince is the timestamp of the first frame that could not go up to the target for
	// want of a sync frame (valid when wantUp).
	wantUpSince uint32
	wantUp      bool
}

// syncWait is how long, in RTP time, a down track waits for a layer sync frame to go up a
// temporal layer before it asks for a keyframe instead: a sender that never marks one (the
// descriptor makes it optional) would otherwise keep the subscriber thinned until the next.
const syncWait = 90000 // a second at the 90 kHz video clock

// skipTemporalLocked tells whether p belongs to a frame above the temporal layer forwarded,
// and if so takes it out of the subscriber's numbering. A frame is decided at its first packet
// seen (its packets share a timestamp); a late packet of an older frame follows the layer
// forwarded now. Called with d.mu held, for packets of the current layer.
func (d *DownTrack) skipTemporalLocked(p *Packet) bool {
	v := &p.VP8
	if !v.HasTID {
		return false
	}
	t := &d.temporal
	ts := p.Header.Timestamp
	switch {
	case t.known && ts == t.frameTS:
	case !t.known || int32(ts-t.frameTS) > 0:
		target := int8(d.temporalTarget.Load())
		tid := int8(v.TID)
		switch {
		case p.Keyframe || !t.known, target < t.current:
			t.current = target
		case tid > t.current && tid <= target && v.LayerSync:
			t.current = tid
		}
		t.frameTS, t.known, t.drop = ts, true, tid > t.current
		switch {
		case target <= t.current:
			t.wantUp = false
		case !t.wantUp:
			t.wantUp, t.wantUpSince = true, ts
		case ts-t.wantUpSince > syncWait:
			// Throttled (one a PLIInterval), and to the publisher: no lock of this down track.
			d.receiver.RequestKeyframe(p.Layer) // the keyframe goes up (above)
		}
	default:
		if int8(v.TID) <= t.current {
			return false
		}
		d.munger.Drop(p.Header.SequenceNumber, vp8Fields(v))
		return true
	}
	if t.drop {
		d.munger.Drop(p.Header.SequenceNumber, vp8Fields(v))
		d.temporalDrops.Add(1)
	}
	return t.drop
}
