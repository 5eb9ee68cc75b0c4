package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/serverapi"
)

// TestStartRefusesShortSecret: keys passed in code are held to --keys's rule (issue 15,
// finding 7): a secret under auth.MinSecretLen bytes can be found offline from one token.
func TestStartRefusesShortSecret(t *testing.T) {
	short := strings.Repeat("x", auth.MinSecretLen-1)
	_, err := Start(Config{TCPPort: -1, Keys: auth.KeyProvider{"k1": short}, Media: sfuLoopback()})
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
			tc.node.api.Handler().ServeHTTP(rec, req)
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
			cfg := Config{TCPPort: -1, Keys: auth.KeyProvider{testKey: testSecret}, Media: sfuLoopback()}
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

// TestAppOrigin: what --allowed-app-urls accepts, normalised the way the app compares origins
// (its URL parser lower-cases the host and drops a default port).
func TestAppOrigin(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"ws://127.0.0.1:7880", "ws://127.0.0.1:7880"},
		{"WSS://Media.Example.COM", "wss://media.example.com"},
		{"wss://media.example.com:443/", "wss://media.example.com"},
		{"ws://media.example.com:80", "ws://media.example.com"},
		{"wss://media.example.com:8443", "wss://media.example.com:8443"},
		{"ws://[2001:db8::1]:7880", "ws://[2001:db8::1]:7880"},
		{" ws://a.example ", "ws://a.example"},
		{"http://media.example.com", ""},
		{"media.example.com", ""},
		{"ws://", ""},
		{"ws://:7880", ""},
		{"ws://user:pw@media.example.com", ""},
		{"ws://media.example.com/rtc", ""},
		{"ws://media.example.com?x=1", ""},
		{"ws://media.example.com:port", ""},
	} {
		got, err := serverapi.AppOrigin(tc.in)
		if got != tc.want || (tc.want == "") != (err != nil) {
			t.Errorf("AppOrigin(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// TestAppConfig: GET /api/app-config lists the origins the app may connect to besides its own
// (none by default), and Start refuses an entry that is not a ws(s) origin (issue 15, finding 8).
func TestAppConfig(t *testing.T) {
	get := func(n *Node) []string {
		t.Helper()
		resp, err := http.Get(n.HTTPURL() + "/api/app-config")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			AllowedURLs []string `json:"allowedUrls"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK || body.AllowedURLs == nil {
			t.Fatalf("GET /api/app-config = %d %+v (%v)", resp.StatusCode, body, err)
		}
		return body.AllowedURLs
	}
	if got := get(startNode(t)); len(got) != 0 {
		t.Errorf("allowed URLs %q by default, want none", got)
	}
	n := startNodeWith(t, func(c *Config) { c.AllowedAppURLs = []string{"WSS://Media.Example.com:443", "ws://10.0.0.5:7880/"} })
	if got, want := get(n), []string{"wss://media.example.com", "ws://10.0.0.5:7880"}; !slices.Equal(got, want) {
		t.Errorf("allowed URLs %q, want %q", got, want)
	}
	_, err := Start(Config{TCPPort: -1, Keys: auth.KeyProvider{testKey: testSecret},
		Media: sfuLoopback(), AllowedAppURLs: []string{"https://media.example.com"}})
	if err == nil || !strings.Contains(err.Error(), "https://media.example.com") {
		t.Fatalf("Start with an https URL allowed: %v, want an error naming it", err)
	}
}
