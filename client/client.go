// Package client is Podium's Go SDK. It joins a room over the signalling WebSocket (the contract
// in docs/protocol.md), publishes media from encoded files or from caller-written RTP, and
// receives what the server forwards. Integration tests and the load tester are its users.
package client

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
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/transport/v5"
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/client/arrivals"
	"github.com/podium-sfu/podium/client/media"
	"github.com/podium-sfu/podium/client/pionapi"
	"github.com/podium-sfu/podium/internal/fifo"
	"github.com/podium-sfu/podium/protocol"
)

// Sentinel errors.
var (
	ErrClosed           = errors.New("client: closed")
	ErrUnsupportedCodec = media.ErrUnsupportedCodec // the same error from every layer of the SDK
	ErrUnknownTrack     = errors.New("client: unknown track")
	ErrUnexpected       = errors.New("client: unexpected message")
	ErrBacklog          = errors.New("client: too many messages waiting to be sent")
)

const (
	// maxUnsent and maxUnsentBytes bound the frames waiting for the writer: over a minute of
	// what the server admits (50 a second by default), and above the server tests' floods
	// (1,389 offers of 60 KiB). A caller this far ahead gets ErrBacklog.
	maxUnsent         = 4096
	maxUnsentBytes    = 128 << 20
	writeTimeout      = 10 * time.Second
	closeFlushTimeout = 2 * time.Second // how long Close waits to say goodbye to a dead server
)

// Options configure a Client. The zero value is usable.
type Options struct {
	Logger *slog.Logger // default: discard
	// Loopback keeps every ICE candidate on 127.0.0.1 (see LoopbackOnly): for tests.
	Loopback bool
	// AutoSubscribe nil leaves the server's default (subscribe to everything); false adds
	// autoSubscribe=false to the URL.
	AutoSubscribe *bool
	// Net is the network pion opens its sockets on; default the host's. Set it here rather
	// than with SettingEngine's SetNet, which would bypass the arrival stamps of the subscriber
	// connection's congestion feedback (see arrivals).
	Net transport.Net
	// SettingEngine makes extra changes to pion's settings (after Loopback's and Net's).
	SettingEngine func(*webrtc.SettingEngine)
	// DialTimeout bounds the WebSocket handshake and the wait for `joined`; default 10 s.
	DialTimeout time.Duration
	// PingInterval is the keep-alive period; default 5 s (the server gives up after 30 s).
	PingInterval time.Duration
	// TLS configures the wss:// handshake (a private CA's pool, say); nil: the system's roots.
	TLS *tls.Config
	// RelayOnly gathers relay candidates alone, through the TURN servers `joined` names, as a
	// client behind a firewall that lets only TURN out must (RTCIceTransportPolicy "relay").
	RelayOnly bool
	// ICERestartRetry is how long an ICE restart may take before the next begins, while a
	// connection has lost its path; default 2 s.
	ICERestartRetry time.Duration
	// Resume keeps the session across a lost WebSocket: the client dials again within the
	// server's resume window and picks up where it was, media untouched (resume.go).
	Resume bool

	// Rejoin joins again when the session ends without Close: the WebSocket lost, the peer
	// connections down for RejoinAfter (default 15 s), or `leave` server_shutdown. It tries
	// the leave's redirect, then the URL given to Connect, then URLs in turn, with backoff, for
	// RejoinFor (default 1 min), and republishes the local tracks (rejoin.go).
	Rejoin      bool
	URLs        []string
	RejoinFor   time.Duration
	RejoinAfter time.Duration

	maxUndelivered int // tests lower the bound of Events, Tracks and Data
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 10 * time.Second
	}
	if o.ICERestartRetry <= 0 {
		o.ICERestartRetry = 2 * time.Second
	}
	if o.PingInterval <= 0 {
		o.PingInterval = 5 * time.Second
	}
	if o.maxUndelivered <= 0 {
		o.maxUndelivered = maxUndelivered
	}
	if o.RejoinFor <= 0 {
		o.RejoinFor = defaultRejoinFor
	}
	if o.RejoinAfter <= 0 {
		o.RejoinAfter = defaultRejoinAfter
	}
	return o
}

// LoopbackOnly restricts ICE to IPv4 UDP host candidates on 127.0.0.1, with mDNS off, as
// Options.Loopback does: for a test's own pion peers on a machine with other interfaces.
func LoopbackOnly(se *webrtc.SettingEngine) { pionapi.LoopbackOnly(se) }

// ConnectError is the server's refusal of the WebSocket upgrade (401 bad token, 403 full room…).
type ConnectError struct {
	Status  int
	Code    string
	Message string
}

func (e *ConnectError) Error() string {
	return fmt.Sprintf("client: connection refused: HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

// Client is one participant's session: a signalling WebSocket and two peer connections.
type Client struct {
	log  *slog.Logger
	opts Options
	ws   *websocket.Conn // the current one: see conn (resume.go)
	clk  media.Clock     // paces media files; tests swap it
	rs   resumeState
	rj   rejoinState

	ctx    context.Context // the session's lifetime, canceled at teardown
	cancel context.CancelFunc
	wg     sync.WaitGroup // reader, writer, the feedback, restartLoop (and rejoin.go's)

	outbox     *fifo.Queue[[]byte] // encoded frames for the writer
	closing    chan struct{}       // closed by Close: the writer flushes, sends a close frame, stops
	writerDone chan struct{}

	events *queue[protocol.Message]
	tracks *queue[*RemoteTrack]
	data   *queue[DataPacket]

	pub *publisher
	sub *subscriber

	nextID atomic.Uint64

	restartKick chan struct{} // wakes restartLoop (see iceStateChanged)
	iceRestarts atomic.Int64

	mu           sync.Mutex
	self         protocol.ParticipantInfo
	room         protocol.RoomInfo
	participants map[string]protocol.ParticipantInfo
	streams      map[string]protocol.StreamState // by track sid, from streamState
	dominant     string                          // from activeSpeakers
	speakers     []protocol.SpeakerInfo          // from activeSpeakers
	order        []string                        // participant sids in arrival order
	pending      map[string]chan protocol.Message
	leaveReason  string

	done      chan struct{} // closed once this session is torn down (Done: rj.final)
	closeOnce sync.Once
}

// Connect joins the room that token grants: it dials {url}/rtc and returns after `joined`.
// url is the server's base URL ("ws://127.0.0.1:7880"; http(s) works too). A refusal before
// the upgrade is a *ConnectError. ctx bounds the connection attempt only; the session lasts
// until Close, Kill or the server ends it.
func Connect(ctx context.Context, url, token string, o Options) (*Client, error) {
	o = o.withDefaults()
	u, err := rtcURL(url, token, o.AutoSubscribe)
	if err != nil {
		return nil, err
	}
	if o.Resume {
		u += "&resumable=1"
	}
	dctx, cancel := context.WithTimeout(ctx, o.DialTimeout)
	defer cancel()
	dialer := websocket.Dialer{Proxy: http.ProxyFromEnvironment, HandshakeTimeout: o.DialTimeout, TLSClientConfig: o.TLS}
	ws, resp, err := dialer.DialContext(dctx, u, nil)
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			return nil, refusal(resp)
		}
		return nil, fmt.Errorf("client: dial %s: %w", url, err) // url: the token stays out of logs
	}
	ws.SetReadLimit(protocol.MaxMessageSize)
	joined, frames, err := readJoined(dctx, ws)
	if err != nil {
		_ = ws.Close()
		return nil, err
	}
	c, err := newClient(ws, joined, o)
	if err != nil {
		_ = ws.Close()
		return nil, err
	}
	c.rs.url, c.rs.token = url, token
	c.rj.url, c.rj.token = url, token
	c.rs.lastSeq.Store(uint64(frames)) // the server numbers its frames from joined's
	return c, nil
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

func newClient(ws *websocket.Conn, j *protocol.Joined, o Options) (*Client, error) {
	c := &Client{
		opts: o, clk: media.RealClock{},
		events: newQueue(fifo.New[protocol.Message](o.maxUndelivered)),
		tracks: newQueue(fifo.New[*RemoteTrack](o.maxUndelivered)),
		data: newQueue(fifo.NewSized(o.maxUndelivered, maxUndeliveredBytes,
			func(p DataPacket) int { return len(p.Data) })),
		restartKick: make(chan struct{}, 1),
	}
	c.rj.final = make(chan struct{})
	c.rj.life, c.rj.lifeCancel = context.WithCancel(context.Background())
	c.log = o.Logger.With("room", j.Room.Name, "participant", j.Participant.Sid)
	c.opts.Logger = c.log
	if err := c.begin(ws, j, 1, nil, ""); err != nil {
		c.rj.lifeCancel()
		return nil, err
	}
	c.rj.lifeWG.Add(3)
	for _, run := range []func(){c.events.run, c.tracks.run, c.data.run} {
		go func() {
			defer c.rj.lifeWG.Done()
			run()
		}()
	}
	return c, nil
}

// begin starts a session over a joined WebSocket: the first, or one after a rejoin at url that
// takes the kept tracks over. It sets the session's fields while none of its goroutines run.
func (c *Client) begin(ws *websocket.Conn, j *protocol.Joined, frames int, kept []*LocalTrack, url string) error {
	o := c.opts
	ctx, cancel := context.WithCancel(c.rj.life)
	api := pionapi.Config{Logger: o.Logger, Loopback: o.Loopback, Net: o.Net, SettingEngine: o.SettingEngine}
	pubAPI, err := pionapi.New(api)
	if err != nil {
		cancel()
		return err
	}
	arrived := arrivals.New()
	api.Arrivals = arrived
	subAPI, err := pionapi.New(api)
	if err != nil {
		cancel()
		return err
	}
	cfg := webrtc.Configuration{}
	if o.RelayOnly {
		cfg.ICETransportPolicy = webrtc.ICETransportPolicyRelay
	}
	for _, s := range j.ICEServers {
		cfg.ICEServers = append(cfg.ICEServers, webrtc.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
	}
	sub, err := newSubscriber(c, subAPI, cfg, arrived)
	if err != nil {
		cancel()
		return err
	}
	pub, err := newPublisher(c, pubAPI, cfg)
	if err != nil {
		cancel()
		_ = sub.pc.Close()
		return err
	}
	pub.moving = slices.Clone(kept) // carry walks kept while register edits moving
	c.mu.Lock()
	if c.rj.ended { // Close or Kill came first
		c.mu.Unlock()
		cancel()
		_, _ = pub.pc.Close(), sub.pc.Close()
		return ErrClosed
	}
	c.ctx, c.cancel = ctx, cancel
	c.outbox = fifo.NewSized(maxUnsent, maxUnsentBytes, func(b []byte) int { return len(b) })
	c.closing, c.writerDone, c.done = make(chan struct{}), make(chan struct{}), make(chan struct{})
	c.participants, c.pending = map[string]protocol.ParticipantInfo{}, map[string]chan protocol.Message{}
	c.order, c.streams, c.dominant, c.speakers = nil, nil, "", nil
	c.leaveReason, c.rj.redirect = "", ""
	c.pub, c.sub = pub, sub
	c.mu.Unlock()
	c.rs.wsMu.Lock()
	c.ws = ws
	c.rs.wsMu.Unlock()
	c.rs.resumeTok, c.rs.window = j.ResumeToken, time.Duration(j.ResumeWindow)*time.Second
	c.rs.resumed = make(chan uint64, 1)
	c.rs.lastSeq.Store(uint64(frames))
	c.rs.cseq.Store(0)
	c.rs.mu.Lock()
	c.rs.sent = nil
	c.rs.mu.Unlock()
	c.applyJoined(j)
	c.events.push(j)
	c.wg.Add(4)
	go c.restartLoop()
	go func() {
		defer c.wg.Done()
		arrived.Run(ctx, sub.pc)
	}()
	go c.readLoop()
	go c.writeLoop()
	if o.Rejoin {
		c.wg.Add(1)
		go c.watchPath()
	}
	if url != "" {
		c.wg.Add(1)
		go c.carry(kept, url)
	}
	return nil
}

// teardown ends the session; the reader runs it once when the connection ends for any reason.
// A rejoin (Options.Rejoin) may follow, or the Client ends.
func (c *Client) teardown() {
	c.cancel()
	_ = c.conn().NetConn().Close()
	rejoin, reason, redirect := c.rejoinWanted()
	kept := c.pub.close(rejoin)
	c.sub.close()
	close(c.done)
	if rejoin {
		c.startRejoin(kept, reason, redirect)
		return
	}
	c.finish()
}

// Close leaves the room: it sends `leave`, closes the peer connections and the WebSocket, and
// waits for every goroutine of the client. Events, Tracks and Data are closed.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		closing, writerDone := c.end()
		_ = c.send(&protocol.Leave{})
		close(closing)
		select {
		case <-writerDone:
		case <-time.After(closeFlushTimeout):
		}
		c.shutdown()
	})
	return nil
}

// Kill drops the session the way a crash would: no `leave`, no close frame.
func (c *Client) Kill() {
	c.closeOnce.Do(func() {
		c.end()
		c.shutdown()
	})
}

// end marks the Client over (no rejoin follows) and returns its session's writer channels.
func (c *Client) end() (closing, writerDone chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rj.ended = true
	return c.closing, c.writerDone
}

func (c *Client) shutdown() {
	c.rj.lifeCancel()              // a rejoin under way gives up
	_ = c.conn().NetConn().Close() // ends the reader, which tears down
	<-c.rj.final
	c.events.stop()
	c.tracks.stop()
	c.data.stop()
	c.rj.lifeWG.Wait()
	c.wg.Wait()
}

// Done is closed when the session has ended: Close, Kill, a `leave` from the server or a lost
// connection; with Options.Rejoin, when no rejoin follows.
func (c *Client) Done() <-chan struct{} { return c.rj.final }

// overrun ends a session whose caller stopped reading Events, Tracks or Data (what): it was
// maxUndelivered behind. The server sees the connection end; LeaveReason is slow_consumer.
func (c *Client) overrun(what string) {
	c.mu.Lock()
	if c.leaveReason == "" {
		c.leaveReason = protocol.LeaveSlowConsumer
	}
	c.mu.Unlock()
	c.log.Error("the caller does not read "+what+": ending the session", "limit", c.opts.maxUndelivered)
	_ = c.conn().NetConn().Close() // ends the reader, which tears down
}

// LeaveReason is the reason of the server's `leave`, or "", or slow_consumer when the client
// ended the session because the caller left too much unread on Events, Tracks or Data.
func (c *Client) LeaveReason() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.leaveReason
}

// Events delivers every server message, `joined` first, after the client has handled it, and,
// with Options.Rejoin, *Reconnecting and *Reconnected around a rejoin (a new `joined` between
// them). It never drops; it is closed when the client ends (after the backlog on a disconnect,
// at once on Close). Read it: a caller 65,536 messages behind ends the session (see LeaveReason).
func (c *Client) Events() <-chan protocol.Message { return c.events.out }

// Tracks delivers the tracks the server forwards to this client, as their media starts.
func (c *Client) Tracks() <-chan *RemoteTrack { return c.tracks.out }

// PeerConnections returns the publisher and subscriber connections, for stats and state.
func (c *Client) PeerConnections() (publisher, subscriber *webrtc.PeerConnection) {
	c.mu.Lock() // a rejoin replaces them
	defer c.mu.Unlock()
	return c.pub.pc, c.sub.pc
}
