package auth

import "errors"

// Sentinel errors returned (wrapped) by Verify, Mint and ParseKeys; match
// them with errors.Is.
var (
	ErrMalformed    = errors.New("auth: malformed token")
	ErrUnknownKey   = errors.New("auth: unknown API key")
	ErrBadSignature = errors.New("auth: bad token signature")
	ErrExpired      = errors.New("auth: token expired")
	ErrNotYetValid  = errors.New("auth: token not yet valid")
	ErrNoIdentity   = errors.New("auth: token has no identity")
	ErrInvalidKeys  = errors.New("auth: invalid key list")
	ErrBadOptions   = errors.New("auth: invalid mint options")
)
