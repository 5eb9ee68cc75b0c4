package whip

import (
	"slices"
	"testing"

	"github.com/podium-sfu/podium/protocol"
)

// TestICEServerLinks: one Link value per URL; credentials only on servers that have them,
// quoted so that a quote or a backslash in them cannot end the parameter.
func TestICEServerLinks(t *testing.T) {
	got := iceServerLinks([]protocol.ICEServer{
		{URLs: []string{"turn:t.example:3478?transport=udp", "turns:t.example:443?transport=tcp"}, Username: "1700000000:al\"ice", Credential: `a\b`},
		{URLs: []string{"stun:s.example:3478"}},
	})
	want := []string{
		`<turn:t.example:3478?transport=udp>; rel="ice-server"; username="1700000000:al\"ice"; credential="a\\b"; credential-type="password"`,
		`<turns:t.example:443?transport=tcp>; rel="ice-server"; username="1700000000:al\"ice"; credential="a\\b"; credential-type="password"`,
		`<stun:s.example:3478>; rel="ice-server"`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("links\n%q\nwant\n%q", got, want)
	}
	if links := iceServerLinks(nil); links != nil {
		t.Errorf("no servers, links %q", links)
	}
}
