package room

import (
	"crypto/rand"
	"encoding/base32"
)

var sidEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newSid returns a random id with a type prefix (PA_ participant, TR_ track, RM_ room).
func newSid(prefix string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return prefix + sidEncoding.EncodeToString(b[:])
}
