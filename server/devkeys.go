package server

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/podium-sfu/podium/auth"
)

// devKeys returns dev mode's key pair: the one kept in file when there is one (so that a
// restarted server still accepts the tokens its pages hold), else a new one, kept there for the
// next start. Without a file, a new pair each start.
func devKeys(file string) (key, secret string, err error) {
	if file == "" {
		key, secret = auth.GenerateDevKeys()
		return key, secret, nil
	}
	if b, err := os.ReadFile(file); err == nil {
		if k, s, ok := strings.Cut(strings.TrimSpace(string(b)), ":"); ok && (auth.KeyProvider{k: s}).Validate() == nil {
			return k, s, nil
		}
		// A damaged file is replaced rather than trusted.
	}
	key, secret = auth.GenerateDevKeys()
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return "", "", fmt.Errorf("dev keys: %w", err)
	}
	// 0600: the secret mints any token, an admin's included.
	if err := os.WriteFile(file, []byte(key+":"+secret+"\n"), 0o600); err != nil {
		return "", "", fmt.Errorf("dev keys: %w", err)
	}
	return key, secret, nil
}
