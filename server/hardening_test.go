package server

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
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

// TestDevTokenOnlyForLoopbackSameOrigin: dev mode answered any origin with
// Access-Control-Allow-Origin: *, so any web page could read an admin token (issue 15, finding
// 9). Now a token goes to a page of the server's own origin on this machine only; with
// DevAllowRemote, to other machines too, still same-origin.
func TestDevTokenOnlyForLoopbackSameOrigin(t *testing.T) {
	local := startNodeWith(t, func(c *Config) { c.Keys = nil })
	remote := startNodeWith(t, func(c *Config) { c.Keys, c.DevAllowRemote = nil, true })
	const lan = "192.0.2.10:7880"
	for _, tc := range []struct {
		name               string
		node               *Node
		remoteAddr, origin string
		host               string // default: the node's own address
		want               int
	}{
		{"the app, no Origin (same-origin GET)", local, "127.0.0.1:50000", "", "", http.StatusOK},
		{"the app, same Origin", local, "127.0.0.1:50000", "self", "", http.StatusOK},
		{"localhost", local, "[::1]:50000", "http://localhost:7880", "localhost:7880", http.StatusOK},
		{"another site's page", local, "127.0.0.1:50000", "https://evil.example", "", http.StatusForbidden},
		{"a sandboxed page", local, "127.0.0.1:50000", "null", "", http.StatusForbidden},
		{"DNS rebinding", local, "127.0.0.1:50000", "http://rebind.example:7880", "rebind.example:7880", http.StatusForbidden},
		{"another machine", local, "192.0.2.99:50000", "", lan, http.StatusForbidden},
		{"another machine, allowed", remote, "192.0.2.99:50000", "http://" + lan, lan, http.StatusOK},
		{"another site's page, remote allowed", remote, "192.0.2.99:50000", "https://evil.example", lan, http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host := tc.host
			if host == "" {
				host = tc.node.listener.Addr().String()
			}
			req := httptest.NewRequest("GET", "http://"+host+"/api/dev/token?admin=1", nil)
			req.RemoteAddr = tc.remoteAddr
			switch tc.origin {
			case "self":
				req.Header.Set("Origin", "http://"+host)
			case "":
			default:
				req.Header.Set("Origin", tc.origin)
			}
			rec := httptest.NewRecorder()
			tc.node.signal.Handler().ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("GET /api/dev/token?admin=1 = %d %s, want %d", rec.Code, rec.Body, tc.want)
			}
			if acao := rec.Header().Get("Access-Control-Allow-Origin"); acao != "" {
				t.Errorf("Access-Control-Allow-Origin: %q on a dev token", acao)
			}
		})
	}
}

// TestStartRefusesDevModeOnPublicBind: dev mode on a non-loopback address hands tokens to the
// network; it needs keys or the explicit DevAllowRemote (issue 15, finding 9).
func TestStartRefusesDevModeOnPublicBind(t *testing.T) {
	for _, tc := range []struct {
		name    string
		edit    func(*Config)
		wantErr bool
	}{
		{"dev mode on all addresses", func(c *Config) { c.Keys, c.Bind = nil, "0.0.0.0" }, true},
		{"dev mode on IPv6 all addresses", func(c *Config) { c.Keys, c.Bind = nil, "::" }, true},
		{"dev mode on loopback", func(c *Config) { c.Keys, c.Bind = nil, "127.0.0.1" }, false},
		{"dev mode allowed remote", func(c *Config) { c.Keys, c.Bind, c.DevAllowRemote = nil, "0.0.0.0", true }, false},
		{"keys on all addresses", func(c *Config) { c.Bind = "0.0.0.0" }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{HTTPPort: -1, UDPPort: -1, TCPPort: -2, Keys: auth.KeyProvider{testKey: testSecret}, Media: sfuLoopback()}
			tc.edit(&cfg)
			n, err := Start(cfg)
			if err == nil {
				_ = n.Shutdown(context.Background())
			}
			if tc.wantErr != (err != nil) {
				t.Fatalf("Start: %v, want an error: %v", err, tc.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "dev-allow-remote") {
				t.Errorf("the error does not say how to allow it: %v", err)
			}
		})
	}
}
