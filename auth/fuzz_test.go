package auth

import (
	"strings"
	"testing"
)

func FuzzVerify(f *testing.F) {
	tok := mustMint(f, MintOptions{Identity: "alice", Grant: Grant{Room: "r", RoomJoin: true}})
	seeds := []string{
		tok, "", ".", "..", "...", "a.b.c", "not a token", tok + ".", tok + "x",
		strings.Repeat("A", MaxTokenSize+1),
		craft(f, hs256(), map[string]any{"iss": testKey, "exp": 1e300}, testSecret),
		craft(f, hs256(), map[string]any{"iss": testKey, "sub": "x", "exp": -1e300}, testSecret),
		craft(f, map[string]any{"alg": "none"}, basePayload(), ""),
	}
	for i := 0; i < len(tok); i += 7 {
		seeds = append(seeds, tok[:i])
	}
	for _, s := range seeds {
		f.Add(s)
	}
	v := &Verifier{Keys: KeyProvider{testKey: testSecret}, Now: fixedNow}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := v.Verify(s)
		if err != nil {
			if c != nil {
				t.Fatalf("claims %+v returned with error %v", c, err)
			}
			return
		}
		if c.Identity == "" {
			t.Fatalf("accepted token with empty identity: %q", s)
		}
		if c.APIKey != testKey {
			t.Fatalf("accepted token for key %q", c.APIKey)
		}
	})
}
