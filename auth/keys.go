package auth

import (
	"crypto/rand"
	"fmt"
	"strings"
)

// KeyProvider maps API keys to their secrets.
type KeyProvider map[string]string

// ParseKeys reads "key:secret[,key:secret]" as given to --keys. The key
// ends at the first colon, so a secret may contain colons but not commas.
func ParseKeys(s string) (KeyProvider, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("no keys given: %w", ErrInvalidKeys)
	}
	kp := KeyProvider{}
	for i, pair := range strings.Split(s, ",") {
		key, secret, ok := strings.Cut(strings.TrimSpace(pair), ":")
		if !ok {
			return nil, fmt.Errorf("entry %d: want key:secret: %w", i+1, ErrInvalidKeys)
		}
		if key == "" || secret == "" {
			return nil, fmt.Errorf("entry %d: empty key or secret: %w", i+1, ErrInvalidKeys)
		}
		if _, dup := kp[key]; dup {
			return nil, fmt.Errorf("entry %d: duplicate key %q: %w", i+1, key, ErrInvalidKeys)
		}
		kp[key] = secret
	}
	return kp, nil
}

// GenerateDevKeys returns a random key pair for dev mode. The secret has
// 256 bits of entropy in 52 base32 characters, none of them ':' or ','.
func GenerateDevKeys() (key, secret string) {
	key = "devkey-" + strings.ToLower(rand.Text()[:6])
	secret = rand.Text() + rand.Text()
	return key, secret
}
