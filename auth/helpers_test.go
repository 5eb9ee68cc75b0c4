package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"
)

const (
	testKey    = "APIkey1"
	testSecret = "s3cret-s3cret-s3cret-s3cret-s3cret"
)

// fixedNow is the clock every test runs against.
func fixedNow() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }

func testVerifier() *Verifier {
	return &Verifier{Keys: KeyProvider{testKey: testSecret}, Now: fixedNow}
}

// craft builds a JWT by hand so tests can send what Mint never would.
func craft(t testing.TB, header, payload any, secret string) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signing := enc(header) + "." + enc(payload)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(signing))
	return signing + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func hs256() map[string]any { return map[string]any{"alg": "HS256", "typ": "JWT"} }

// basePayload is a valid payload at fixedNow(); tests override fields.
func basePayload() map[string]any {
	return map[string]any{
		"iss": testKey,
		"sub": "alice",
		"exp": fixedNow().Add(time.Hour).Unix(),
		"nbf": fixedNow().Add(-time.Minute).Unix(),
		"iat": fixedNow().Add(-time.Minute).Unix(),
	}
}

func mustMint(t testing.TB, o MintOptions) string {
	t.Helper()
	if o.Now == nil {
		o.Now = fixedNow
	}
	tok, err := Mint(testKey, testSecret, o)
	if err != nil {
		t.Fatalf("Mint: %v", err)
	}
	return tok
}
