package protocol

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestStampData(t *testing.T) {
	out, to, err := StampData([]byte(`{"topic":"chat <b>","to":["bob"],"payload":{"x":1},"from":"forged"}`), "ann")
	if err != nil {
		t.Fatal(err)
	}
	if len(to) != 1 || to[0] != "bob" {
		t.Fatalf("recipients %v", to)
	}
	if string(out) != `{"topic":"chat <b>","payload":{"x":1},"from":"ann"}` {
		t.Fatalf("relayed %s", out)
	}
	for _, bad := range []string{`[1]`, `"text"`, `{"topic":1}`, `{`, ``} {
		if _, _, err := StampData([]byte(bad), "ann"); err == nil {
			t.Errorf("%q was relayed", bad)
		}
	}
	huge := `{"topic":"` + strings.Repeat("\x01", MaxDataMessage/2) + `"}` // six bytes each once escaped
	if _, _, err := StampData([]byte(strings.ReplaceAll(huge, "\x01", `\u0001`)), "ann"); err == nil {
		t.Error("a message that grows past the limit when relayed was relayed")
	}
}

// FuzzDataRelay: whatever a client sends as a text data message, the relay either refuses it
// or relays a JSON object of bounded size whose "from" is the sender and that has no "to".
func FuzzDataRelay(f *testing.F) {
	for _, s := range []string{`{"topic":"chat","payload":"hi"}`, `{"topic":"x","to":["a","b"],"payload":{"k":[1,2]}}`,
		`{"from":"forged"}`, `{"payload":null}`, `{"topic":"\u003c\ud83d\ude00"}`, `not json`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > MaxDataMessage {
			return // refused before the relay
		}
		out, _, err := StampData(data, "ann")
		if err != nil {
			return
		}
		if len(out) > MaxDataMessage+relayOverhead {
			t.Fatalf("relayed %d bytes", len(out))
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("relayed something that is not a JSON object: %v: %q", err, out)
		}
		if string(m["from"]) != `"ann"` {
			t.Fatalf(`relayed "from" %s`, m["from"])
		}
		if _, ok := m["to"]; ok {
			t.Fatalf(`relayed "to": %q`, out)
		}
	})
}
