package codec

// ParseAudioLevel decodes the RFC 6464 client-to-mixer audio level from the
// header extension element's data: level is 0..127 in -dBov (0 is loudest,
// 127 is silence) and voice is the V flag. Bytes after the first (padding in
// the two-byte header form) are ignored.
func ParseAudioLevel(ext []byte) (level uint8, voice bool, ok bool) {
	if len(ext) == 0 {
		return 0, false, false
	}
	return ext[0] & 0x7f, ext[0]&0x80 != 0, true
}
