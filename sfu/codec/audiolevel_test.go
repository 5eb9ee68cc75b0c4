package codec

import "testing"

func TestParseAudioLevel(t *testing.T) {
	tests := []struct {
		name  string
		ext   []byte
		level uint8
		voice bool
		ok    bool
	}{
		{"empty", nil, 0, false, false},
		{"loudest with voice", []byte{0x80}, 0, true, true},
		{"silence without voice", []byte{0x7f}, 127, false, true},
		{"silence flagged as voice", []byte{0xff}, 127, true, true},
		{"level 30 with voice", []byte{0x80 | 30}, 30, true, true},
		{"level 30 without voice", []byte{30}, 30, false, true},
		{"two-byte form padding ignored", []byte{0x8a, 0x00, 0x00}, 10, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			level, voice, ok := ParseAudioLevel(tt.ext)
			if level != tt.level || voice != tt.voice || ok != tt.ok {
				t.Errorf("ParseAudioLevel(% x) = %d, %v, %v; want %d, %v, %v",
					tt.ext, level, voice, ok, tt.level, tt.voice, tt.ok)
			}
		})
	}
}
