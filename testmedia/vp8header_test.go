package testmedia

// vp8Refresh is what a VP8 frame header says the frame does to the decoder's
// three reference buffers (RFC 6386, sections 9.7-9.8): which it replaces with
// the decoded frame, and which it overwrites with a copy of another. A
// keyframe replaces all three.
type vp8Refresh struct {
	key                  bool
	last, golden, altref bool
	copyGolden, copyAlt  uint8 // 0: none; 1: from LAST; 2: from the other buffer
}

// parseVP8Refresh reads a raw VP8 frame's header up to its refresh flags
// (RFC 6386, section 19.2). ok is false for a frame too short to hold them.
func parseVP8Refresh(frame []byte) (r vp8Refresh, ok bool) {
	if len(frame) < 3 {
		return r, false
	}
	r.key = frame[0]&1 == 0
	start := 3 // frame tag
	if r.key {
		start = 10 // frame tag, start code, width and height
	}
	if len(frame) <= start+2 {
		return r, false
	}
	d := newBoolDecoder(frame[start:])
	if r.key {
		d.literal(2) // color space, clamping type
	}
	if d.flag() { // segmentation_enabled
		updateMap := d.flag()
		if d.flag() { // update_segment_feature_data
			d.literal(1) // segment_feature_mode
			for range 4 {
				d.optionalSigned(7) // quantizer
			}
			for range 4 {
				d.optionalSigned(6) // loop filter level
			}
		}
		if updateMap {
			for range 3 {
				if d.flag() {
					d.literal(8) // segment_prob
				}
			}
		}
	}
	d.literal(1 + 6 + 3) // filter_type, loop_filter_level, sharpness_level
	if d.flag() {        // loop_filter_adj_enable
		if d.flag() { // mode_ref_lf_delta_update
			for range 8 {
				d.optionalSigned(6) // ref_frame and mb_mode deltas
			}
		}
	}
	d.literal(2) // log2_nbr_of_dct_partitions
	d.literal(7) // y_ac_qi
	for range 5 {
		d.optionalSigned(4) // y_dc, y2_dc, y2_ac, uv_dc, uv_ac deltas
	}
	if r.key {
		r.last, r.golden, r.altref = true, true, true
		return r, !d.overrun()
	}
	r.golden = d.flag()
	r.altref = d.flag()
	if !r.golden {
		r.copyGolden = uint8(d.literal(2))
	}
	if !r.altref {
		r.copyAlt = uint8(d.literal(2))
	}
	d.literal(2) // sign_bias_golden, sign_bias_alternate
	d.literal(1) // refresh_entropy_probs
	r.last = d.flag()
	return r, !d.overrun()
}

// boolDecoder is VP8's boolean entropy decoder (RFC 6386, section 7.3).
type boolDecoder struct {
	buf      []byte
	pos      int
	value    uint32 // two bytes of window
	rng      uint32
	bitCount int
}

func newBoolDecoder(b []byte) *boolDecoder {
	d := &boolDecoder{buf: b, rng: 255}
	d.value = uint32(d.next())<<8 | uint32(d.next())
	return d
}

// next returns the next input byte; past the end, zeros (overrun tells).
func (d *boolDecoder) next() byte {
	d.pos++
	if d.pos > len(d.buf) {
		return 0
	}
	return d.buf[d.pos-1]
}

func (d *boolDecoder) overrun() bool { return d.pos > len(d.buf) }

func (d *boolDecoder) bool(prob uint32) bool {
	split := 1 + (d.rng-1)*prob>>8
	bigSplit := split << 8
	bit := d.value >= bigSplit
	if bit {
		d.rng -= split
		d.value -= bigSplit
	} else {
		d.rng = split
	}
	for d.rng < 128 {
		d.value <<= 1
		d.rng <<= 1
		if d.bitCount++; d.bitCount == 8 {
			d.bitCount = 0
			d.value |= uint32(d.next())
		}
	}
	return bit
}

// literal reads an n-bit unsigned value, most significant bit first: L(n).
func (d *boolDecoder) literal(n int) uint32 {
	var v uint32
	for range n {
		v <<= 1
		if d.bool(128) {
			v |= 1
		}
	}
	return v
}

func (d *boolDecoder) flag() bool { return d.literal(1) == 1 }

// optionalSigned skips a flagged magnitude of n bits and its sign.
func (d *boolDecoder) optionalSigned(n int) {
	if d.flag() {
		d.literal(n + 1)
	}
}
