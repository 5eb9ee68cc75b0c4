package protocol

import "unicode/utf8"

// EncodedLen is the length of s as a JSON string body, as encoding/json writes it (HTML
// characters, control characters, U+2028/U+2029 and invalid UTF-8 escaped, quotes excluded).
// Limits on text that the server sends to others are on this length: 16 KiB of '<' is
// 96 KiB on the wire, more than a frame holds.
func EncodedLen(s string) int {
	n := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			switch {
			case b == '"' || b == '\\' || b == '\n' || b == '\r' || b == '\t' || b == '\b' || b == '\f':
				n += 2
			case b < 0x20 || b == '<' || b == '>' || b == '&':
				n += 6
			default:
				n++
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			n += 6 // \ufffd
		case r == '\u2028' || r == '\u2029':
			n += 6
		default:
			n += size
		}
		i += size
	}
	return n
}
