package auth

import (
	"errors"
	"reflect"
	"regexp"
	"testing"
)

func TestParseKeys(t *testing.T) {
	tests := []struct {
		in      string
		want    KeyProvider
		wantErr bool
	}{
		{"k:s", KeyProvider{"k": "s"}, false},
		{"k1:s1,k2:s2", KeyProvider{"k1": "s1", "k2": "s2"}, false},
		{" k1:s1 , k2:s2 ", KeyProvider{"k1": "s1", "k2": "s2"}, false},
		{"k:s:with:colons", KeyProvider{"k": "s:with:colons"}, false},
		{"", nil, true},
		{"   ", nil, true},
		{"k", nil, true},
		{":s", nil, true},
		{"k:", nil, true},
		{"k:s,", nil, true},
		{",k:s", nil, true},
		{"k:s,k:t", nil, true},
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
