package auth

import (
	"crypto/rand"
	"fmt"
	"strings"
)

// MinSecretLen is the shortest secret a server accepts. HS256 tokens can be
// checked offline against guesses, so a short secret is a forgeable one: 32
// bytes is the hash's own size, and what `openssl rand -hex 16` gives.
const MinSecretLen = 32

// KeyProvider maps API keys to their secrets.
type KeyProvider map[string]string

// Validate refuses an empty key or a secret shorter than MinSecretLen: a
// server checks its keys with it before it verifies any token.
func (kp KeyProvider) Validate() error {
	for key, secret := range kp {
		if err := checkPair(key, secret); err != nil {
			return err
		}
	}
	return nil
}

func checkPair(key, secret string) error {
	if key == "" || secret == "" {
		return fmt.Errorf("empty key or secret: %w", ErrInvalidKeys)
	}
	if len(secret) < MinSecretLen {
		return fmt.Errorf("the secret of key %q is %d bytes, at least %d needed (e.g. openssl rand -hex 32): %w",
			key, len(secret), MinSecretLen, ErrInvalidKeys)
	}
	return nil
}

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
		if err := checkPair(key, secret); err != nil {
			return nil, fmt.Errorf("entry %d: %w", i+1, err)
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
