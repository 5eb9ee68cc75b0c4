package protocol

import (
	"crypto/rand"
	"encoding/base32"
)

var sidEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewSid returns a random session id with its type's prefix (PA_ participant, TR_ track, RM_
// room).
func NewSid(prefix string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return prefix + sidEncoding.EncodeToString(b[:])
}
