package serverapi

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/protocol"
)

// The browser app's calls: where it may connect, and in dev mode a token.

// appConfig tells the browser app where it may connect: its own origin, and these. A link
// with ?url= must not make a page of this server send camera and microphone elsewhere.
func (s *API) appConfig(w http.ResponseWriter, _ *http.Request) {
	// devMode tells the lobby whether a room and a name are enough to join (else a link is).
	writeJSON(w, http.StatusOK, map[string]any{"allowedUrls": append([]string{}, s.cfg.AppURLs...), "devMode": s.cfg.DevMode})
}

// AppOrigin checks an origin the app may be allowed to connect to and returns it as the app
// compares it: ws or wss, lower-case host, no default port, no path. It refuses anything
// else, so that a typo fails at start instead of silently allowing nothing.
func AppOrigin(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "", fmt.Errorf("%q: %w", raw, err)
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "ws" && scheme != "wss" {
		return "", fmt.Errorf("%q: want ws://host[:port] or wss://host[:port]", raw)
	}
	if u.Host == "" || u.Hostname() == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%q: want an origin, scheme://host[:port] and nothing more", raw)
	}
	host := strings.ToLower(u.Host)
	if p := u.Port(); (scheme == "ws" && p == "80") || (scheme == "wss" && p == "443") {
		host = strings.TrimSuffix(host, ":"+p)
	}
	return scheme + "://" + host, nil
}

// devOnly lets through what may get a dev token: a request of this server's own origin (an
// Origin header, when there is one, names the host asked), and unless DevAllowRemote from this
// machine to a loopback host name, which DNS rebinding cannot fake.
func (s *API) devOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if o := r.Header.Get("Origin"); o != "" && !sameOrigin(o, r.Host) {
			protocol.WriteHTTPError(w, http.StatusForbidden, protocol.CodeForbidden, "dev tokens are for this server's own pages, not "+o)
			return
		}
		if !s.cfg.DevAllowRemote && (!loopbackAddr(r.RemoteAddr) || !loopbackHost(r.Host)) {
			protocol.WriteHTTPError(w, http.StatusForbidden, protocol.CodeForbidden,
				"dev tokens are served on this machine only, at 127.0.0.1 or localhost (podium serve --dev-allow-remote lifts this)")
			return
		}
		h(w, r)
	}
}

// sameOrigin reports whether origin (scheme://host[:port]) names host, the request's Host.
// The scheme is not compared: behind a TLS proxy the server sees plain HTTP.
func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, host)
}

func loopbackAddr(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loopbackHost reports whether a Host header names this machine: a loopback address, localhost
// or a name under .localhost (which browsers resolve to loopback themselves).
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback()
	}
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}

// devToken mints a token for whoever devOnly lets through: only in dev mode, for the browser app
// on a laptop.
func (s *API) devToken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	roomName, identity := q.Get("room"), q.Get("identity")
	admin := q.Get("admin") == "1"
	if admin && roomName == "" && identity == "" {
		identity = "admin" // the dashboard: an admin of every room who joins none
	}
	name := q.Get("name")
	if name == "" {
		name = identity
	}
	if (roomName == "" && !admin) || identity == "" || len(roomName) > 128 || len(identity) > auth.MaxIdentityLen || len(name) > auth.MaxNameLen {
		protocol.WriteHTTPError(w, http.StatusBadRequest, protocol.CodeBadRequest, "room and identity are required (at most 128 bytes), name at most 256 bytes")
		return
	}
	key, secret := s.devKey()
	tok, err := auth.Mint(key, secret, auth.MintOptions{Identity: identity, Name: name, Grant: auth.Grant{
		Room: roomName, RoomJoin: roomName != "", CanPublish: true, CanSubscribe: true, CanPublishData: true,
		RoomAdmin: admin, RoomList: admin,
	}})
	if err != nil {
		protocol.WriteHTTPError(w, http.StatusInternalServerError, protocol.CodeInternal, err.Error())
		return
	}
	scheme := "ws"
	if r.TLS != nil {
		scheme = "wss"
	}
	writeJSON(w, http.StatusOK, map[string]string{"token": tok, "url": scheme + "://" + r.Host})
}

func (s *API) devKey() (string, string) {
	for k, v := range s.cfg.Keys {
		return k, v
	}
	return "", ""
}
