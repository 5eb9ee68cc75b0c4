package auth

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestMintErrors(t *testing.T) {
	tests := []struct {
		name        string
		key, secret string
		opts        MintOptions
		want        error
	}{
		{"no key", "", testSecret, MintOptions{Identity: "a"}, ErrBadOptions},
		{"no secret", testKey, "", MintOptions{Identity: "a"}, ErrBadOptions},
		{"no identity", testKey, testSecret, MintOptions{}, ErrNoIdentity},
		{"negative TTL", testKey, testSecret, MintOptions{Identity: "a", TTL: -time.Second}, ErrBadOptions},
		{"identity too long", testKey, testSecret, MintOptions{Identity: strings.Repeat("i", MaxIdentityLen+1)}, ErrBadOptions},
		{"name too long", testKey, testSecret, MintOptions{Identity: "a", Name: strings.Repeat("n", MaxNameLen+1)}, ErrBadOptions},
		{"too big", testKey, testSecret, MintOptions{Identity: "a", Metadata: strings.Repeat("m", MaxTokenSize)}, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := Mint(tt.key, tt.secret, tt.opts)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if tok != "" {
				t.Errorf("token = %q, want empty", tok)
			}
		})
	}
}

func TestMintDefaultTTLAndClock(t *testing.T) {
	before := time.Now().Truncate(time.Second)
	tok, err := Mint(testKey, testSecret, MintOptions{Identity: "a"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := (&Verifier{Keys: KeyProvider{testKey: testSecret}}).Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.ExpiresAt.Sub(c.NotBefore); got != DefaultTTL {
		t.Errorf("lifetime = %v, want %v", got, DefaultTTL)
	}
	if c.NotBefore.Before(before) || c.NotBefore.After(time.Now()) {
		t.Errorf("nbf %v not within the call", c.NotBefore)
	}
}

func TestCanPublishSource(t *testing.T) {
	tests := []struct {
		name   string
		grant  Grant
		source string
		want   bool
	}{
		{"no publish", Grant{}, "camera", false},
		{"no source limit", Grant{CanPublish: true}, "screen", true},
		{"listed", Grant{CanPublish: true, CanPublishSources: []string{"camera"}}, "camera", true},
		{"not listed", Grant{CanPublish: true, CanPublishSources: []string{"camera"}}, "screen", false},
		{"listed but no publish", Grant{CanPublishSources: []string{"camera"}}, "camera", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.grant.CanPublishSource(tt.source); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
