package auth

import (
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// DefaultTTL is the lifetime of a minted token when MintOptions.TTL is zero.
const DefaultTTL = 6 * time.Hour

// MintOptions for creating a token.
type MintOptions struct {
	Identity string
	Name     string
	Metadata string
	TTL      time.Duration // zero means DefaultTTL
	Grant    Grant
	Now      func() time.Time // nil means time.Now
}

// Mint signs a token for apiKey with secret.
func Mint(apiKey, secret string, o MintOptions) (string, error) {
	if apiKey == "" || secret == "" {
		return "", fmt.Errorf("empty API key or secret: %w", ErrBadOptions)
	}
	if o.Identity == "" {
		return "", ErrNoIdentity
	}
	// A token the verifier would refuse is no use to anyone.
	if err := checkLengths(o.Identity, o.Name); err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadOptions, err)
	}
	ttl := o.TTL
	if ttl == 0 {
		ttl = DefaultTTL
	}
	if ttl < 0 {
		return "", fmt.Errorf("negative TTL %v: %w", ttl, ErrBadOptions)
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	t := now()
	wc := wireClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    apiKey,
			Subject:   o.Identity,
			ExpiresAt: jwt.NewNumericDate(t.Add(ttl)),
			NotBefore: jwt.NewNumericDate(t),
			IssuedAt:  jwt.NewNumericDate(t),
		},
		Name:     o.Name,
		Metadata: o.Metadata,
		Grant:    o.Grant.toWire(),
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, wc).SignedString([]byte(secret))
	if err != nil {
		return "", fmt.Errorf("auth: mint: %w", err)
	}
	// A token the verifier would refuse is no use to anyone.
	if len(s) > MaxTokenSize {
		return "", fmt.Errorf("token is %d bytes, limit %d: %w", len(s), MaxTokenSize, ErrMalformed)
	}
	return s, nil
}
