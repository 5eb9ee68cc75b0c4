package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		opts MintOptions
	}{
		{"minimal", MintOptions{Identity: "alice"}},
		{"everything", MintOptions{
			Identity: "bob", Name: "Bob", Metadata: `{"role":"host"}`, TTL: time.Minute,
			Grant: Grant{
				Room: "r1", RoomJoin: true, CanPublish: true, CanSubscribe: true, CanPublishData: true,
				CanPublishSources: []string{"camera", "microphone"},
				Hidden:            true, RoomAdmin: true, RoomList: true, RoomCreate: true,
			},
		}},
		{"explicit false permissions", MintOptions{
			Identity: "carol",
			Grant:    Grant{Room: "r1", RoomJoin: true},
		}},
		{"longest identity and name", MintOptions{
			Identity: strings.Repeat("i", MaxIdentityLen), Name: strings.Repeat("n", MaxNameLen),
		}},
		{"subscribe only", MintOptions{
			Identity: "dave",
			Grant:    Grant{Room: "r1", RoomJoin: true, CanSubscribe: true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := mustMint(t, tt.opts)
			c, err := testVerifier().Verify(tok)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			ttl := tt.opts.TTL
			if ttl == 0 {
				ttl = DefaultTTL
			}
			want := &Claims{
				APIKey: testKey, Identity: tt.opts.Identity, Name: tt.opts.Name,
				Metadata: tt.opts.Metadata, Grant: tt.opts.Grant,
				ExpiresAt: fixedNow().Add(ttl), NotBefore: fixedNow(), IssuedAt: fixedNow(),
			}
			if !reflect.DeepEqual(normalize(c), normalize(want)) {
				t.Errorf("got  %+v\nwant %+v", c, want)
			}
		})
	}
}

// normalize makes times and empty slices comparable with DeepEqual.
func normalize(c *Claims) Claims {
	n := *c
	n.ExpiresAt, n.NotBefore, n.IssuedAt = n.ExpiresAt.UTC(), n.NotBefore.UTC(), n.IssuedAt.UTC()
	if len(n.Grant.CanPublishSources) == 0 {
		n.Grant.CanPublishSources = nil
	}
	return n
}

func TestAbsentPermissionsDefault(t *testing.T) {
	tests := []struct {
		name  string
		grant any // nil means no grant claim at all
		want  Grant
	}{
		{"no grant", nil, Grant{CanPublish: true, CanSubscribe: true, CanPublishData: true}},
		{"empty grant", map[string]any{}, Grant{CanPublish: true, CanSubscribe: true, CanPublishData: true}},
		{"room join only", map[string]any{"room": "r", "roomJoin": true},
			Grant{Room: "r", RoomJoin: true, CanPublish: true, CanSubscribe: true, CanPublishData: true}},
		{"no canPublish", map[string]any{"room": "r", "roomJoin": true, "canSubscribe": false},
			Grant{Room: "r", RoomJoin: true, CanPublish: true, CanPublishData: true}},
		{"explicit false", map[string]any{"canPublish": false, "canSubscribe": false, "canPublishData": false},
			Grant{}},
		{"null canPublish", map[string]any{"canPublish": nil},
			Grant{CanPublish: true, CanSubscribe: true, CanPublishData: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := basePayload()
			if tt.grant != nil {
				p["grant"] = tt.grant
			}
			c, err := testVerifier().Verify(craft(t, hs256(), p, testSecret))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !reflect.DeepEqual(c.Grant, tt.want) {
				t.Errorf("grant = %+v, want %+v", c.Grant, tt.want)
			}
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	valid := func() map[string]any { return basePayload() }
	with := func(k string, v any) map[string]any {
		p := valid()
		if v == nil {
			delete(p, k)
		} else {
			p[k] = v
		}
		return p
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signed := func(m jwt.SigningMethod, key any) string {
		s, err := jwt.NewWithClaims(m, jwt.MapClaims(valid())).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good := craft(t, hs256(), valid(), testSecret)

	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"empty", "", ErrMalformed},
		{"garbage", "not a token", ErrMalformed},
		{"two segments", "a.b", ErrMalformed},
		{"four segments", good + ".x", ErrMalformed},
		{"bad base64", "!!!.@@@.###", ErrMalformed},
		{"oversize", craft(t, hs256(), with("metadata", strings.Repeat("x", MaxTokenSize)), testSecret), ErrMalformed},
		{"wrong secret", craft(t, hs256(), valid(), "other-secret"), ErrBadSignature},
		{"tampered payload", tamper(t, good), ErrBadSignature},
		{"unknown key", craft(t, hs256(), with("iss", "nobody"), testSecret), ErrUnknownKey},
		{"no iss", craft(t, hs256(), with("iss", nil), testSecret), ErrUnknownKey},
		{"expired", craft(t, hs256(), with("exp", fixedNow().Add(-time.Second).Unix()), testSecret), ErrExpired},
		{"not yet valid", craft(t, hs256(), with("nbf", fixedNow().Add(time.Minute).Unix()), testSecret), ErrNotYetValid},
		{"no exp", craft(t, hs256(), with("exp", nil), testSecret), ErrMalformed},
		{"string exp", craft(t, hs256(), with("exp", "tomorrow"), testSecret), ErrMalformed},
		{"no sub", craft(t, hs256(), with("sub", nil), testSecret), ErrNoIdentity},
		{"empty sub", craft(t, hs256(), with("sub", ""), testSecret), ErrNoIdentity},
		// Issue 15, finding 10: names of kilobytes were accepted and repeated everywhere.
		{"identity too long", craft(t, hs256(), with("sub", strings.Repeat("i", MaxIdentityLen+1)), testSecret), ErrMalformed},
		{"name too long", craft(t, hs256(), with("name", strings.Repeat("n", MaxNameLen+1)), testSecret), ErrMalformed},
		{"grant wrong type", craft(t, hs256(), with("grant", "all"), testSecret), ErrMalformed},
		{"alg none", signed(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType), ErrBadSignature},
		{"alg none, empty sig", noneToken(t, valid()), ErrBadSignature},
		{"alg HS512", craft(t, map[string]any{"alg": "HS512"}, valid(), testSecret), ErrBadSignature},
		{"alg unknown", craft(t, map[string]any{"alg": "XX999"}, valid(), testSecret), ErrBadSignature},
		{"alg missing", craft(t, map[string]any{"typ": "JWT"}, valid(), testSecret), ErrBadSignature},
		// Classic confusion: RS256 header with an HMAC made from the secret.
		{"RS256 header HMAC body", craft(t, map[string]any{"alg": "RS256"}, valid(), testSecret), ErrBadSignature},
		{"real RS256", signed(jwt.SigningMethodRS256, rsaKey), ErrBadSignature},
		{"real ES256", signed(jwt.SigningMethodES256, ecKey), ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := testVerifier().Verify(tt.token)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if c != nil {
				t.Errorf("claims = %+v, want nil", c)
			}
		})
	}
}

func tamper(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	p := basePayload()
	p["sub"] = "mallory"
	forged := craft(t, hs256(), p, "irrelevant")
	parts[1] = strings.Split(forged, ".")[1]
	return strings.Join(parts, ".")
}

func noneToken(t *testing.T, payload map[string]any) string {
	t.Helper()
	tok := craft(t, map[string]any{"alg": "none"}, payload, "")
	return tok[:strings.LastIndex(tok, ".")+1]
}

func TestLeeway(t *testing.T) {
	tests := []struct {
		name   string
		claim  string
		offset time.Duration
		leeway time.Duration
		want   error
	}{
		{"expired within leeway", "exp", -20 * time.Second, 30 * time.Second, nil},
		{"expired beyond leeway", "exp", -40 * time.Second, 30 * time.Second, ErrExpired},
		{"early within leeway", "nbf", 20 * time.Second, 30 * time.Second, nil},
		{"early beyond leeway", "nbf", 40 * time.Second, 30 * time.Second, ErrNotYetValid},
		// Issue 15, finding 10: a token issued in the future was accepted.
		{"issued ahead within leeway", "iat", 20 * time.Second, 30 * time.Second, nil},
		{"issued ahead beyond leeway", "iat", 40 * time.Second, 30 * time.Second, ErrNotYetValid},
		{"issued a day ahead", "iat", 24 * time.Hour, 30 * time.Second, ErrNotYetValid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := basePayload()
			p[tt.claim] = fixedNow().Add(tt.offset).Unix()
			v := testVerifier()
			v.Leeway = tt.leeway
			_, err := v.Verify(craft(t, hs256(), p, testSecret))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVerifierEdgeCases(t *testing.T) {
	tok := mustMint(t, MintOptions{Identity: "alice"})
	tests := []struct {
		name string
		v    *Verifier
		want error
	}{
		{"nil verifier", nil, ErrUnknownKey},
		{"no keys", &Verifier{Now: fixedNow}, ErrUnknownKey},
		{"empty secret", &Verifier{Keys: KeyProvider{testKey: ""}, Now: fixedNow}, ErrUnknownKey},
		{"other key only", &Verifier{Keys: KeyProvider{"k2": testSecret}, Now: fixedNow}, ErrUnknownKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.v.Verify(tok); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}
