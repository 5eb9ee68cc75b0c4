// Package sigconn is the Go SDK's signalling connection to a Podium server (docs/protocol.md):
// one WebSocket with its reader, its one writer and the keep-alive; replies matched to
// requests by id; and resume, which dials a lost WebSocket again within the server's window
// and replays what each side missed. It knows the wire, not what the messages mean: the
// client hands it a function for each message the server sends.
package sigconn

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	neturl "net/url"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/podium-sfu/podium/protocol"
)

// Sentinel errors; package client exports them under the same names.
var (
	ErrClosed     = errors.New("client: closed")
	ErrUnexpected = errors.New("client: unexpected message")
	ErrBacklog    = errors.New("client: too many messages waiting to be sent")
)

// Config configures a connection. The zero value is usable.
type Config struct {
	Logger        *slog.Logger // default: discard
	AutoSubscribe *bool        // false adds autoSubscribe=false to the URL
	TLS           *tls.Config  // for wss://; nil: the system's roots
	// DialTimeout bounds a dial with its wait for `joined` (or `resumed`); default 10 s.
	DialTimeout time.Duration
	// PingInterval is the keep-alive period; default 5 s (the server gives up after 30 s).
	PingInterval time.Duration
	// Resume asks for a resumable session and resumes it when the WebSocket drops.
	Resume bool
	// ResumeMax caps the time spent resuming below the server's window (0: the whole window).
	ResumeMax time.Duration
	// OnResumed, if set, runs on the reader each time the session resumed.
	OnResumed func()
}

func (cfg Config) withDefaults() Config {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 10 * time.Second
	}
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = 5 * time.Second
	}
	return cfg
}

// ConnectError is the server's refusal of the WebSocket upgrade (401 bad token, 403 full room…).
type ConnectError struct {
	Status  int
	Code    string
	Message string
}

func (e *ConnectError) Error() string {
	return fmt.Sprintf("client: connection refused: HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

// Dial joins the room that token grants at the server's base URL ("ws://127.0.0.1:7880"; http(s)
// works too) and reads `joined`, with the frames that complete it. A refusal before the upgrade
// is a *ConnectError. The connection does nothing until Run.
func Dial(ctx context.Context, url, token string, cfg Config) (*Conn, *protocol.Joined, error) {
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	query := ""
	if cfg.Resume {
		query = "&resumable=1"
	}
	ws, err := dial(ctx, cfg, url, token, query)
	if err != nil {
		return nil, nil, err
	}
	joined, frames, err := readJoined(ctx, ws)
	if err != nil {
		_ = ws.Close()
		return nil, nil, err
	}
	return newConn(cfg, url, token, ws, joined, frames), joined, nil
}

// dial opens the WebSocket to {url}/rtc with query appended: the one dialer of the first join,
// a rejoin and a resume.
func dial(ctx context.Context, cfg Config, url, token, query string) (*websocket.Conn, error) {
	u, err := rtcURL(url, token, cfg.AutoSubscribe)
	if err != nil {
		return nil, err
	}
	dialer := websocket.Dialer{Proxy: http.ProxyFromEnvironment, HandshakeTimeout: cfg.DialTimeout, TLSClientConfig: cfg.TLS}
	ws, resp, err := dialer.DialContext(ctx, u+query, nil)
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			return nil, refusal(resp)
		}
		return nil, fmt.Errorf("client: dial %s: %w", url, err) // url: the token stays out of logs
	}
	ws.SetReadLimit(protocol.MaxMessageSize)
	return ws, nil
}

func rtcURL(base, token string, autoSubscribe *bool) (string, error) {
	u, err := neturl.Parse(base)
	if err != nil {
		return "", fmt.Errorf("client: bad url: %w", err)
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	case "ws", "wss":
	default:
		return "", fmt.Errorf("client: bad url scheme %q", u.Scheme)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/rtc"
	q := u.Query()
	q.Set("access_token", token)
	if autoSubscribe != nil && !*autoSubscribe {
		q.Set("autoSubscribe", "false")
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func refusal(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	e := &ConnectError{Status: resp.StatusCode}
	var wire struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &wire) == nil {
		e.Code, e.Message = wire.Code, wire.Message
	} else {
		e.Message = strings.TrimSpace(string(body))
	}
	return e
}

// readJoined waits for the first message, which must be `joined`, and for the
// joinedParticipants frames that complete its participant list when it says more follow.
func readJoined(ctx context.Context, ws *websocket.Conn) (joined *protocol.Joined, frames int, err error) {
	// Unblock the read when ctx ends: a deadline in the past fails it at once.
	stop := context.AfterFunc(ctx, func() { _ = ws.NetConn().SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	m, err := readMessage(ctx, ws)
	if err != nil {
		return nil, 0, err
	}
	switch m := m.(type) {
	case *protocol.Joined:
		joined = m
	case *protocol.Error:
		return nil, 0, m
	case *protocol.Leave:
		return nil, 0, fmt.Errorf("client: server sent leave (%s) instead of joined", m.Reason)
	default:
		return nil, 0, fmt.Errorf("%w: %s before joined", ErrUnexpected, m.MessageType())
	}
	frames = 1
	for more := joined.More; more; {
		m, err := readMessage(ctx, ws)
		if err != nil {
			return nil, 0, err
		}
		rest, ok := m.(*protocol.JoinedParticipants)
		if !ok {
			return nil, 0, fmt.Errorf("%w: %s before the end of joined", ErrUnexpected, m.MessageType())
		}
		joined.Participants = append(joined.Participants, rest.Participants...)
		more = rest.More
		frames++
	}
	joined.More = false
	if !stop() && ctx.Err() != nil { // the deadline fired: the caller's context is done
		return nil, 0, fmt.Errorf("client: waiting for joined: %w", ctx.Err())
	}
	_ = ws.NetConn().SetReadDeadline(time.Time{})
	return joined, frames, nil
}

func readMessage(ctx context.Context, ws *websocket.Conn) (protocol.Message, error) {
	_, data, err := ws.ReadMessage()
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, fmt.Errorf("client: waiting for joined: %w", err)
	}
	m, err := protocol.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("client: waiting for joined: %w", err)
	}
	return m, nil
}
