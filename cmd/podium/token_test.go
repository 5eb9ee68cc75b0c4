package main

import (
	"strings"
	"testing"
	"time"

	"github.com/podium-sfu/podium/auth"
)

const (
	testKey    = "testkey"
	testSecret = "test-secret-that-is-long-enough-0123456789"
)

// clearTokenEnv keeps PODIUM_API_KEY/SECRET of the developer's shell out of the flag defaults.
func clearTokenEnv(t *testing.T) {
	t.Helper()
	t.Setenv("PODIUM_API_KEY", "")
	t.Setenv("PODIUM_API_SECRET", "")
	t.Setenv("PODIUM_KEYS", "")
}

// TestTokenReadsPodiumKeys: one exported PODIUM_KEYS serves `serve` and `token` alike; the
// API-key variables win when set.
func TestTokenReadsPodiumKeys(t *testing.T) {
	clearTokenEnv(t)
	t.Setenv("PODIUM_KEYS", "first:"+testSecret+",second:"+strings.Repeat("z", 40))
	var out strings.Builder
	if err := token([]string{"--room", "r", "--identity", "ann"}, &out); err != nil {
		t.Fatal(err)
	}
	v := auth.Verifier{Keys: auth.KeyProvider{"first": testSecret}}
	if _, err := v.Verify(strings.TrimSpace(out.String())); err != nil {
		t.Fatalf("the token is not signed with PODIUM_KEYS's first pair: %v", err)
	}
	t.Setenv("PODIUM_API_KEY", testKey)
	t.Setenv("PODIUM_API_SECRET", testSecret)
	if k, _ := keysDefault(); k != testKey {
		t.Fatalf("PODIUM_API_KEY did not win: %q", k)
	}
}

// mint runs `podium token args...` and verifies what it prints with the test key.
func mint(t *testing.T, args ...string) *auth.Claims {
	t.Helper()
	var out strings.Builder
	if err := token(append([]string{"--key", testKey, "--secret", testSecret}, args...), &out); err != nil {
		t.Fatalf("token %v: %v", args, err)
	}
	if !strings.HasSuffix(out.String(), "\n") || strings.Count(out.String(), "\n") != 1 {
		t.Fatalf("token printed %q, want one line", out.String())
	}
	v := auth.Verifier{Keys: auth.KeyProvider{testKey: testSecret}}
	c, err := v.Verify(strings.TrimSpace(out.String()))
	if err != nil {
		t.Fatalf("printed token does not verify: %v", err)
	}
	return c
}

func TestTokenCommand(t *testing.T) {
	clearTokenEnv(t)

	c := mint(t, "--room", "standup", "--identity", "ann", "--name", "Ann", "--metadata", `{"team":"a"}`, "--ttl", "90m")
	if c.APIKey != testKey || c.Identity != "ann" || c.Name != "Ann" || c.Metadata != `{"team":"a"}` {
		t.Errorf("claims %+v", c)
	}
	if got := c.ExpiresAt.Sub(c.IssuedAt); got != 90*time.Minute {
		t.Errorf("ttl %v, want 90m", got)
	}
	want := auth.Grant{Room: "standup", RoomJoin: true, CanPublish: true, CanSubscribe: true, CanPublishData: true}
	if !grantEqual(c.Grant, want) {
		t.Errorf("default grant %+v, want %+v", c.Grant, want)
	}

	// The default lifetime is six hours.
	if c := mint(t, "--room", "r", "--identity", "i"); c.ExpiresAt.Sub(c.IssuedAt) != 6*time.Hour {
		t.Errorf("default ttl %v, want 6h", c.ExpiresAt.Sub(c.IssuedAt))
	}

	for _, tc := range []struct {
		flag string
		want func(g auth.Grant) bool
	}{
		{"--no-publish", func(g auth.Grant) bool { return !g.CanPublish && g.CanSubscribe && g.CanPublishData }},
		{"--no-subscribe", func(g auth.Grant) bool { return g.CanPublish && !g.CanSubscribe && g.CanPublishData }},
		{"--no-data", func(g auth.Grant) bool { return g.CanPublish && g.CanSubscribe && !g.CanPublishData }},
		{"--hidden", func(g auth.Grant) bool { return g.Hidden && g.RoomJoin }},
		{"--admin", func(g auth.Grant) bool { return g.RoomAdmin && g.RoomList && g.RoomCreate && g.RoomJoin }},
	} {
		if g := mint(t, "--room", "r", "--identity", "i", tc.flag).Grant; !tc.want(g) {
			t.Errorf("%s: grant %+v", tc.flag, g)
		}
	}
	// Without a room, --admin makes an API token that joins nothing.
	if g := mint(t, "--identity", "ops", "--admin").Grant; g.RoomJoin || g.Room != "" || !g.RoomAdmin || !g.RoomList || !g.RoomCreate {
		t.Errorf("API token grant %+v", g)
	}
}

func TestTokenCommandFromEnv(t *testing.T) {
	t.Setenv("PODIUM_API_KEY", testKey)
	t.Setenv("PODIUM_API_SECRET", testSecret)
	var out strings.Builder
	if err := token([]string{"--room", "r", "--identity", "i"}, &out); err != nil {
		t.Fatal(err)
	}
	v := auth.Verifier{Keys: auth.KeyProvider{testKey: testSecret}}
	if _, err := v.Verify(strings.TrimSpace(out.String())); err != nil {
		t.Fatalf("token from env keys: %v", err)
	}
}

func TestTokenCommandBadFlags(t *testing.T) {
	clearTokenEnv(t)
	ok := []string{"--key", testKey, "--secret", testSecret, "--room", "r", "--identity", "i"}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"unknown flag", append(ok, "--bogus")},
		{"bad ttl", append(ok, "--ttl", "soon")},
		{"negative ttl", append(ok, "--ttl", "-1h")},
		{"no key", []string{"--secret", testSecret, "--room", "r", "--identity", "i"}},
		{"no secret", []string{"--key", testKey, "--room", "r", "--identity", "i"}},
		{"no identity", []string{"--key", testKey, "--secret", testSecret, "--room", "r"}},
		{"no room", []string{"--key", testKey, "--secret", testSecret, "--identity", "i"}},
		// flag stops at the first non-flag: "--name Ann Smith --no-publish" must not quietly
		// mint a token that may publish.
		{"stray argument", append(ok, "--name", "Ann", "Smith", "--no-publish")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			if err := token(tc.args, &out); err == nil {
				t.Fatalf("token %v succeeded: %q", tc.args, out.String())
			}
			if out.Len() != 0 {
				t.Errorf("printed %q on error", out.String())
			}
		})
	}
}

func grantEqual(a, b auth.Grant) bool {
	return a.Room == b.Room && a.RoomJoin == b.RoomJoin && a.CanPublish == b.CanPublish &&
		a.CanSubscribe == b.CanSubscribe && a.CanPublishData == b.CanPublishData &&
		len(a.CanPublishSources) == len(b.CanPublishSources) && a.Hidden == b.Hidden &&
		a.RoomAdmin == b.RoomAdmin && a.RoomList == b.RoomList && a.RoomCreate == b.RoomCreate
}
