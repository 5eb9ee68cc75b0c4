package codec

import "testing"

// stapA builds a STAP-A payload from NAL units.
func stapA(nals ...[]byte) []byte {
	p := []byte{0x78} // F=0, NRI=3, type 24
	for _, n := range nals {
		p = append(p, byte(len(n)>>8), byte(len(n)))
		p = append(p, n...)
	}
	return p
}

func TestIsH264Keyframe(t *testing.T) {
	sps := []byte{0x67, 0x42, 0xc0, 0x1f, 0xda}
	pps := []byte{0x68, 0xce, 0x3c, 0x80}
	idr := []byte{0x65, 0x88, 0x84, 0x00}
	slice := []byte{0x41, 0x9a, 0x02}
	sei := []byte{0x06, 0x05, 0x01}

	tests := []struct {
		name    string
		payload []byte
		want    bool
	}{
		{"empty", nil, false},
		{"single IDR", idr, true},
		{"single IDR, header byte only", []byte{0x65}, true},
		{"single SPS", sps, true},
		{"single PPS", pps, false},
		{"single non-IDR slice", slice, false},
		{"single SEI", sei, false},
		{"STAP-A SPS+PPS+IDR", stapA(sps, pps, idr), true},
		{"STAP-A SPS+PPS", stapA(sps, pps), true},
		{"STAP-A PPS+IDR", stapA(pps, idr), true},
		{"STAP-A SEI+slice", stapA(sei, slice), false},
		{"STAP-A header only", []byte{0x78}, false},
		{"STAP-A truncated size", []byte{0x78, 0x00}, false},
		{"STAP-A size without NAL", []byte{0x78, 0x00, 0x01}, false},
		{"STAP-A zero size", []byte{0x78, 0x00, 0x00, 0x67}, false},
		{"STAP-A size past end", []byte{0x78, 0x00, 0x05, 0x67, 0x42}, false},
		{"STAP-A PPS then truncated IDR", append(stapA(pps), 0x00, 0x09, 0x65), false},
		{"STAP-A SPS then garbage", append(stapA(sps), 0xff), true},
		{"FU-A start of IDR", []byte{0x7c, 0x85, 0x88, 0x84}, true},
		{"FU-A start of SPS", []byte{0x7c, 0x87, 0x42}, true},
		{"FU-A middle of IDR", []byte{0x7c, 0x05, 0x11}, false},
		{"FU-A end of IDR", []byte{0x7c, 0x45, 0x11}, false},
		{"FU-A start of non-IDR", []byte{0x5c, 0x81, 0x9a}, false},
		{"FU-A without FU header", []byte{0x7c}, false},
		{"STAP-B is not inspected", []byte{0x79, 0x00, 0x00, 0x00, 0x04, 0x65, 0x88, 0x84, 0x00}, false},
		{"FU-B is not inspected", []byte{0x7d, 0x85, 0x00, 0x00}, false},
		{"forbidden bit does not matter", []byte{0xe5, 0x88}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsH264Keyframe(tt.payload); got != tt.want {
				t.Errorf("IsH264Keyframe(% x) = %v, want %v", tt.payload, got, tt.want)
			}
		})
	}
}

// h264KeyframeReference is a deliberately different (allocating) reading of
// RFC 6184 to compare against: it first splits the payload into NAL unit
// types, then looks for an IDR or SPS.
func h264KeyframeReference(p []byte) bool {
	if len(p) == 0 {
		return false
	}
	var types []byte
	switch p[0] & 0x1f {
	case 24:
		rest := p[1:]
		for len(rest) >= 3 {
			n := int(rest[0])<<8 | int(rest[1])
			if n == 0 || n > len(rest)-2 {
				break
			}
			types = append(types, rest[2]&0x1f)
			rest = rest[2+n:]
		}
	case 28:
		if len(p) >= 2 && p[1]&0x80 != 0 {
			types = append(types, p[1]&0x1f)
		}
	default:
		types = append(types, p[0]&0x1f)
	}
	for _, t := range types {
		if t == 5 || t == 7 {
			return true
		}
	}
	return false
}

func FuzzIsH264Keyframe(f *testing.F) {
	seeds := [][]byte{
		{},
		{0x65},
		{0x67, 0x42},
		{0x68, 0xce},
		{0x41, 0x9a},
		stapA([]byte{0x67, 0x42}, []byte{0x68, 0xce}, []byte{0x65, 0x88}),
		stapA([]byte{0x06, 0x05}, []byte{0x41, 0x9a}),
		{0x78, 0x00, 0x05, 0x67},
		{0x78, 0x00, 0x00, 0x67},
		{0x7c, 0x85, 0x88},
		{0x7c, 0x05, 0x88},
		{0x7c},
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		got := IsH264Keyframe(payload)
		if again := IsH264Keyframe(payload); again != got {
			t.Fatalf("IsH264Keyframe(% x) not deterministic", payload)
		}
		if want := h264KeyframeReference(payload); got != want {
			t.Fatalf("IsH264Keyframe(% x) = %v, reference says %v", payload, got, want)
		}
	})
}
