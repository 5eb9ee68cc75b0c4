package server

import (
	"errors"
	"strings"
	"testing"

	"github.com/podium-sfu/podium/auth"
)

// TestStartRefusesShortSecret: keys passed in code are held to --keys's rule (issue 15,
// finding 7): a secret under auth.MinSecretLen bytes can be found offline from one token.
func TestStartRefusesShortSecret(t *testing.T) {
	short := strings.Repeat("x", auth.MinSecretLen-1)
	_, err := Start(Config{HTTPPort: -1, UDPPort: -1, TCPPort: -2, Keys: auth.KeyProvider{"k1": short}, Media: sfuLoopback()})
	if !errors.Is(err, auth.ErrInvalidKeys) || !strings.Contains(err.Error(), "k1") {
		t.Fatalf("Start with a %d-byte secret: %v, want ErrInvalidKeys naming the key", len(short), err)
	}
}
