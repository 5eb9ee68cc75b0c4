// Package webhook tells a backend what happens in its rooms: events are posted as JSON to
// configured URLs, signed with an API secret so the receiver can check where they come from,
// delivered in order per URL, retried with backoff for a bounded time, and never waited for by
// signalling or media (a full queue drops and counts).
package webhook

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/podium-sfu/podium/protocol"
)

// Event names.
const (
	RoomStarted               = "room_started"
	RoomFinished              = "room_finished"
	ParticipantJoined         = "participant_joined"
	ParticipantLeft           = "participant_left"
	ParticipantConnectionLost = "participant_connection_lost"
	TrackPublished            = "track_published"
	TrackUnpublished          = "track_unpublished"
)

// Event is one webhook's body.
type Event struct {
	ID          string                    `json:"id"`
	Event       string                    `json:"event"`
	CreatedAt   int64                     `json:"createdAt"` // unix seconds
	Room        *protocol.RoomInfo        `json:"room,omitempty"`
	Participant *protocol.ParticipantInfo `json:"participant,omitempty"`
	Track       *protocol.TrackInfo       `json:"track,omitempty"`
	// Reason is why a participant left or a room finished (a leave reason of the protocol).
	Reason string `json:"reason,omitempty"`
}

// newID is a random event id, so a receiver can drop a retried delivery it already handled.
func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "EV_" + hex.EncodeToString(b[:])
}

// claims is what the Authorization header's token carries: the API key as issuer and the
// body's SHA-256, so a token cannot be replayed on another body.
type claims struct {
	SHA256 string `json:"sha256"`
	jwt.RegisteredClaims
}

// tokenTTL bounds how long a captured delivery's token could be replayed with its body.
const tokenTTL = 10 * time.Minute

// sign returns the Authorization header's token for body.
func sign(apiKey, secret string, body []byte, now time.Time) (string, error) {
	sum := sha256.Sum256(body)
	c := claims{
		SHA256: base64.StdEncoding.EncodeToString(sum[:]),
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    apiKey,
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)),
			ExpiresAt: jwt.NewNumericDate(now.Add(tokenTTL)),
		},
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(secret))
}

// Errors of Verify.
var (
	ErrNoToken     = errors.New("webhook: no Authorization token")
	ErrBadToken    = errors.New("webhook: the token does not verify")
	ErrBodyChanged = errors.New("webhook: the body's SHA-256 is not the token's")
)

// Verify checks a delivery as a receiver must: the Authorization header's token is signed with
// the secret of the API key it names, is within its lifetime, and carries the SHA-256 of
// exactly this body. secrets maps API keys to secrets (auth.KeyProvider is one).
func Verify(authorization string, body []byte, secrets map[string]string) error {
	if authorization == "" {
		return ErrNoToken
	}
	var c claims
	_, err := jwt.ParseWithClaims(authorization, &c, func(t *jwt.Token) (any, error) {
		iss, _ := t.Claims.GetIssuer()
		secret, ok := secrets[iss]
		if !ok {
			return nil, fmt.Errorf("unknown API key %q", iss)
		}
		return []byte(secret), nil
	}, jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithExpirationRequired(), jwt.WithLeeway(30*time.Second))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadToken, err)
	}
	sum := sha256.Sum256(body)
	if c.SHA256 != base64.StdEncoding.EncodeToString(sum[:]) {
		return ErrBodyChanged
	}
	return nil
}
