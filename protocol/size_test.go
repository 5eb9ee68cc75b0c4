package protocol

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestEncodedLenMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{
		"", "plain", `"quoted" \ back`, "<b>&amp;</b>", "tab\tnl\ncr\r", "\x00\x01\x1f", "\b\f",
		"é ü 漢字 🎉", "\u2028\u2029", "bad \xff utf8 \xc3", strings.Repeat("<", 1000),
	} {
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := EncodedLen(s), len(b)-2; got != want {
			t.Errorf("EncodedLen(%q) = %d, encoding/json writes %d", s, got, want)
		}
	}
}

func FuzzEncodedLen(f *testing.F) {
	f.Add("<&>\"\\\u2028\xff")
	f.Fuzz(func(t *testing.T, s string) {
		b, _ := json.Marshal(s)
		if got, want := EncodedLen(s), len(b)-2; got != want {
			t.Fatalf("EncodedLen(%q) = %d, encoding/json writes %d", s, got, want)
		}
	})
}

func TestValidateRefusesLongRequestIDs(t *testing.T) {
	long := strings.Repeat("x", MaxIDLen+1)
	if _, err := Decode([]byte(`{"type":"ping","id":"` + long + `","ts":1}`)); err == nil {
		t.Fatal("a ping with a 129-byte id was accepted")
	} else if e, ok := err.(*Error); !ok || e.ID != "" {
		t.Fatalf("the error echoes the long id or is not a protocol error: %#v", err)
	}
	if _, err := Decode([]byte(`{"type":"ping","id":"` + long[:MaxIDLen] + `","ts":1}`)); err != nil {
		t.Fatalf("a 128-byte id was refused: %v", err)
	}
}

func TestMetadataLimitIsOnTheEncodedSize(t *testing.T) {
	md := strings.Repeat("<", MaxMetadataLen/2) // 8 KiB of text, 48 KiB as JSON
	if err := Validate(&UpdateMetadata{Metadata: &md}); err == nil {
		t.Fatal("metadata of 48 KiB as JSON was accepted")
	}
	ok := strings.Repeat("a", MaxMetadataLen)
	if err := Validate(&UpdateMetadata{Metadata: &ok}); err != nil {
		t.Fatalf("16 KiB of plain metadata was refused: %v", err)
	}
}
