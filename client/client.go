// Package client is Podium's Go SDK. It joins a room over the signalling WebSocket (the contract
// in docs/protocol.md), publishes media from encoded files or from caller-written RTP, and
// receives what the server forwards. Integration tests and the load tester are its users.
package client

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/transport/v5"
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/client/arrivals"
	"github.com/podium-sfu/podium/client/internal/sigconn"
	"github.com/podium-sfu/podium/client/media"
	"github.com/podium-sfu/podium/client/pionapi"
	"github.com/podium-sfu/podium/internal/fifo"
	"github.com/podium-sfu/podium/protocol"
)

// Sentinel errors.
var (
	ErrClosed           = sigconn.ErrClosed
	ErrUnsupportedCodec = media.ErrUnsupportedCodec // the same error from every layer of the SDK
	ErrUnknownTrack     = errors.New("client: unknown track")
	ErrUnexpected       = sigconn.ErrUnexpected
	// ErrBacklog: the caller is far ahead of the server: over 4,096 messages (or 128 MiB)
	// wait to be sent.
	ErrBacklog = sigconn.ErrBacklog
)

const closeFlushTimeout = 2 * time.Second // how long Close waits to say goodbye to a dead server

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
	// server's resume window and picks up where it was, media untouched (docs/protocol.md).
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

// ConnectError is the server's refusal of the WebSocket upgrade (401 bad token, 403 full room…):
// Status, Code and Message.
type ConnectError = sigconn.ConnectError

// sigConfig is the signalling connection's part of the options.
func (c *Client) sigConfig() sigconn.Config {
	o := c.opts
	cfg := sigconn.Config{
		Logger: o.Logger, AutoSubscribe: o.AutoSubscribe, TLS: o.TLS,
		DialTimeout: o.DialTimeout, PingInterval: o.PingInterval,
		Resume: o.Resume, OnResumed: func() { c.resumes.Add(1) },
	}
	if o.Rejoin && len(o.URLs) > 0 {
		cfg.ResumeMax = resumeBeforeFailover // rejoin.go
	}
	return cfg
}

// Client is one participant's session: a signalling WebSocket and two peer connections.
type Client struct {
	log     *slog.Logger
	opts    Options
	sig     atomic.Pointer[sigconn.Conn] // the session's signalling; a rejoin replaces it
	clk     media.Clock                  // paces media files; tests swap it
	rj      rejoinState
	resumes atomic.Int64

	ctx    context.Context // the session's lifetime, canceled at teardown
	cancel context.CancelFunc
	wg     sync.WaitGroup // reader (with its writer), the feedback, restartLoop (and rejoin.go's)

	events *queue[protocol.Message]
	tracks *queue[*RemoteTrack]
	data   *queue[DataPacket]

	pub *publisher
	sub *subscriber

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
	c := &Client{
		opts: o, clk: media.RealClock{},
		events: newQueue(fifo.New[protocol.Message](o.maxUndelivered)),
		tracks: newQueue(fifo.New[*RemoteTrack](o.maxUndelivered)),
		data: newQueue(fifo.NewSized(o.maxUndelivered, maxUndeliveredBytes,
			func(p DataPacket) int { return len(p.Data) })),
		restartKick: make(chan struct{}, 1),
	}
	c.rj.url, c.rj.token = url, token
	sig, j, err := sigconn.Dial(ctx, url, token, c.sigConfig())
	if err != nil {
		return nil, err
	}
	c.rj.final = make(chan struct{})
	c.rj.life, c.rj.lifeCancel = context.WithCancel(context.Background())
	c.log = o.Logger.With("room", j.Room.Name, "participant", j.Participant.Sid)
	if err := c.begin(sig, j, nil, ""); err != nil {
		sig.Abort()
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
func (c *Client) begin(sig *sigconn.Conn, j *protocol.Joined, kept []*LocalTrack, url string) error {
	o := c.opts
	ctx, cancel := context.WithCancel(c.rj.life)
	api := pionapi.Config{Logger: c.log, Loopback: o.Loopback, Net: o.Net, SettingEngine: o.SettingEngine}
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
	sub, err := newSubscriber(c, sig, subAPI, cfg, arrived)
	if err != nil {
		cancel()
		return err
	}
	pub, err := newPublisher(c, sig, pubAPI, cfg)
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
	c.sig.Store(sig)
	c.done = make(chan struct{})
	c.participants = map[string]protocol.ParticipantInfo{}
	c.order, c.streams, c.dominant, c.speakers = nil, nil, "", nil
	c.leaveReason, c.rj.redirect = "", ""
	c.pub, c.sub = pub, sub
	c.mu.Unlock()
	c.applyJoined(j)
	c.events.push(j)
	c.wg.Add(3)
	go c.restartLoop()
	go func() {
		defer c.wg.Done()
		arrived.Run(ctx, sub.pc)
	}()
	go func() {
		defer c.wg.Done()
		defer c.teardown()
		sig.Run(ctx, c.handle) // dispatch.go
	}()
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
		sig := c.end()
		_ = sig.Send(&protocol.Leave{})
		sig.CloseWrite(closeFlushTimeout)
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

// end marks the Client over (no rejoin follows) and returns its session's signalling.
func (c *Client) end() *sigconn.Conn {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rj.ended = true
	return c.sig.Load()
}

func (c *Client) shutdown() {
	c.rj.lifeCancel()    // a rejoin under way gives up
	c.sig.Load().Abort() // ends the reader, which tears down
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
	c.sig.Load().Abort() // ends the reader, which tears down
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
