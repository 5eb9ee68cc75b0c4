package auth

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// MaxTokenSize bounds the work an unauthenticated client can make us do.
const MaxTokenSize = 8 << 10

// Bounds on what a token names: every participant list, event and log line repeats them, so a
// token minted by a careless app server must not make them kilobytes long. They match the
// protocol's own limits on ids and display names.
const (
	MaxIdentityLen = 128
	MaxNameLen     = 256
)

// ClockSkew is the leeway a node allows for exp, nbf and iat: the clocks of Podium and of the
// app servers that mint tokens differ.
const ClockSkew = 30 * time.Second

// Verifier checks tokens against a set of API keys.
type Verifier struct {
	Keys   KeyProvider
	Leeway time.Duration    // allowed clock skew for exp, nbf and iat
	Now    func() time.Time // nil means time.Now
}

// Verify checks token's size, algorithm, signature, times and identity and
// returns its claims with permission defaults applied.
func (v *Verifier) Verify(token string) (*Claims, error) {
	if v == nil {
		return nil, fmt.Errorf("nil verifier: %w", ErrUnknownKey)
	}
	if token == "" {
		return nil, fmt.Errorf("empty token: %w", ErrMalformed)
	}
	if len(token) > MaxTokenSize {
		return nil, fmt.Errorf("token exceeds %d bytes: %w", MaxTokenSize, ErrMalformed)
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	p := jwt.NewParser(
		// Pinning the method stops alg=none and RS/ES key confusion.
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		// A token issued in the future comes from a broken clock or a forger's hand.
		jwt.WithIssuedAt(),
		jwt.WithLeeway(v.Leeway),
		jwt.WithTimeFunc(now),
		jwt.WithStrictDecoding(),
	)
	var wc wireClaims
	if _, err := p.ParseWithClaims(token, &wc, v.secretFor); err != nil {
		return nil, classify(err)
	}
	if wc.Subject == "" {
		return nil, ErrNoIdentity
	}
	if err := checkLengths(wc.Subject, wc.Name); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return &Claims{
		APIKey:    wc.Issuer,
		Identity:  wc.Subject,
		Name:      wc.Name,
		Metadata:  wc.Metadata,
		Grant:     wc.Grant.resolve(),
		ExpiresAt: timeOf(wc.ExpiresAt),
		NotBefore: timeOf(wc.NotBefore),
		IssuedAt:  timeOf(wc.IssuedAt),
	}, nil
}

// secretFor is the jwt key func: the claims are decoded (not yet trusted)
// when it runs, so iss picks the secret.
func (v *Verifier) secretFor(t *jwt.Token) (any, error) {
	wc, ok := t.Claims.(*wireClaims)
	if !ok {
		return nil, ErrMalformed
	}
	secret := v.Keys[wc.Issuer]
	// An empty secret would make any HMAC forgeable, so treat it as absent.
	if wc.Issuer == "" || secret == "" {
		return nil, ErrUnknownKey
	}
	return []byte(secret), nil
}

// classify maps jwt's errors onto ours, keeping jwt's text for logs.
func classify(err error) error {
	var kind error
	switch {
	case errors.Is(err, ErrUnknownKey):
		kind = ErrUnknownKey
	case errors.Is(err, jwt.ErrTokenMalformed), errors.Is(err, ErrMalformed):
		kind = ErrMalformed
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		// Includes a disallowed or unknown alg.
		kind = ErrBadSignature
	case errors.Is(err, jwt.ErrTokenExpired):
		kind = ErrExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		kind = ErrNotYetValid
	default:
		// Missing exp, wrongly typed time claims and the like.
		kind = ErrMalformed
	}
	return fmt.Errorf("%w: %v", kind, err)
}

// checkLengths applies MaxIdentityLen and MaxNameLen, for Verify and Mint alike.
func checkLengths(identity, name string) error {
	if len(identity) > MaxIdentityLen {
		return fmt.Errorf("identity is %d bytes, at most %d allowed", len(identity), MaxIdentityLen)
	}
	if len(name) > MaxNameLen {
		return fmt.Errorf("name is %d bytes, at most %d allowed", len(name), MaxNameLen)
	}
	return nil
}
