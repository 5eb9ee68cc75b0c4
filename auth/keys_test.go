package auth

import (
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

func TestParseKeys(t *testing.T) {
	// Secrets of MinSecretLen bytes and more, told apart by their first letter.
	a, b := strings.Repeat("a", MinSecretLen), strings.Repeat("b", MinSecretLen+8)
	tests := []struct {
		in      string
		want    KeyProvider
		wantErr bool
	}{
		{"k:" + a, KeyProvider{"k": a}, false},
		{"k1:" + a + ",k2:" + b, KeyProvider{"k1": a, "k2": b}, false},
		{" k1:" + a + " , k2:" + b + " ", KeyProvider{"k1": a, "k2": b}, false},
		{"k:" + a + ":with:colons", KeyProvider{"k": a + ":with:colons"}, false},
		{"", nil, true},
		{"   ", nil, true},
		{"k", nil, true},
		{":" + a, nil, true},
		{"k:", nil, true},
		{"k:" + a + ",", nil, true},
		{",k:" + a, nil, true},
		{"k:" + a + ",k:" + b, nil, true},
		// A short secret makes tokens forgeable offline (issue 15, finding 7).
		{"k:x", nil, true},
		{"k:" + a[1:], nil, true},
		{"k1:" + a + ",k2:short", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseKeys(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidKeys) {
					t.Fatalf("err = %v, want ErrInvalidKeys", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestGenerateDevKeys(t *testing.T) {
	keyRe := regexp.MustCompile(`^devkey-[a-z2-7]{6}$`)
	k1, s1 := GenerateDevKeys()
	k2, s2 := GenerateDevKeys()
	for _, k := range []string{k1, k2} {
		if !keyRe.MatchString(k) {
			t.Errorf("key %q does not match %v", k, keyRe)
		}
	}
	if len(s1) < 32 {
		t.Errorf("secret too short: %d chars", len(s1))
	}
	if s1 == s2 {
		t.Error("two calls gave the same secret")
	}
	// The pair must survive being passed back in through --keys.
	kp, err := ParseKeys(k1 + ":" + s1)
	if err != nil || kp[k1] != s1 {
		t.Fatalf("ParseKeys round trip: %v, %v", kp, err)
	}
}

// TestValidateKeys: a server given keys in code (server.Config.Keys) checks them as --keys would.
func TestValidateKeys(t *testing.T) {
	long := strings.Repeat("s", MinSecretLen)
	tests := []struct {
		name    string
		kp      KeyProvider
		wantErr bool
	}{
		{"none", KeyProvider{}, false},
		{"long enough", KeyProvider{"k": long}, false},
		{"one short", KeyProvider{"k": long, "k2": long[1:]}, true},
		{"empty secret", KeyProvider{"k": ""}, true},
		{"empty key", KeyProvider{"": long}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.kp.Validate()
			if tt.wantErr != (err != nil) || (err != nil && !errors.Is(err, ErrInvalidKeys)) {
				t.Fatalf("Validate() = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}
