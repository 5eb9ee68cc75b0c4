// Package api is the Go client of Podium's server API: what a backend calls, with its API key
// and secret, to manage rooms and participants without joining. Each call mints a short-lived
// token with just the grant it needs. The routes are described in docs/openapi.yaml.
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/protocol"
)

// Client calls one server's API.
type Client struct {
	base           *url.URL
	key, secret    string
	http           *http.Client
	tokenTTL       time.Duration
	now            func() time.Time
	maxResponseLen int64
}

// New returns a client of the server at serverURL (http://host:port, or the ws:// URL clients
// join with) that signs its calls with key and secret.
func New(serverURL, key, secret string) (*Client, error) {
	u, err := url.Parse(serverURL)
	if err != nil {
		return nil, fmt.Errorf("api: server URL %q: %w", serverURL, err)
	}
	switch u.Scheme {
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	case "http", "https":
	default:
		return nil, fmt.Errorf("api: server URL %q: want http://, https://, ws:// or wss://", serverURL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("api: server URL %q has no host", serverURL)
	}
	if key == "" || secret == "" {
		return nil, errors.New("api: an API key and secret are needed")
	}
	u.Path, u.RawQuery = strings.TrimSuffix(u.Path, "/"), ""
	return &Client{base: u, key: key, secret: secret, http: &http.Client{Timeout: 15 * time.Second},
		tokenTTL: 5 * time.Minute, now: time.Now, maxResponseLen: 16 << 20}, nil
}

// Error is the server's answer to a call it refused.
type Error struct {
	Status  int    // HTTP status
	Code    string // protocol error code: not_found, forbidden, bad_request, ...
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("podium api: %d %s: %s", e.Status, e.Code, e.Message)
}

// IsNotFound reports whether err is the server saying the room or participant does not exist.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// grants: what each call needs, and nothing more.
func roomList() auth.Grant             { return auth.Grant{RoomList: true} }
func roomCreate() auth.Grant           { return auth.Grant{RoomCreate: true} }
func roomAdmin(room string) auth.Grant { return auth.Grant{RoomAdmin: true, Room: room} }

// call sends one request with a token for grant and decodes the answer into out (nil: none).
func (c *Client) call(ctx context.Context, method, path string, grant auth.Grant, in, out any) error {
	token, err := auth.Mint(c.key, c.secret, auth.MintOptions{Identity: "api:" + c.key, TTL: c.tokenTTL, Grant: grant, Now: c.now})
	if err != nil {
		return fmt.Errorf("api: %w", err)
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("api: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path, body)
	if err != nil {
		return fmt.Errorf("api: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("api: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.maxResponseLen))
	if err != nil {
		return fmt.Errorf("api: reading the answer: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var perr protocol.Error
		if json.Unmarshal(data, &perr) != nil || perr.Code == "" {
			perr = protocol.Error{Code: "http", Message: strings.TrimSpace(string(data))}
		}
		return &Error{Status: resp.StatusCode, Code: perr.Code, Message: perr.Message}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("api: %s %s: malformed answer: %w", method, path, err)
	}
	return nil
}

// esc escapes a path segment (room names and identities may hold any character).
func esc(s string) string { return url.PathEscape(s) }
