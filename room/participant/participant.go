package participant

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
	"golang.org/x/time/rate"

	"github.com/podium-sfu/podium/internal/fifo"
	"github.com/podium-sfu/podium/internal/throttle"
	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room/downlink"
	"github.com/podium-sfu/podium/room/peer"
	"github.com/podium-sfu/podium/sfu"
)

// JoinParams describe who joins, from their access token.
type JoinParams struct {
	Identity, Name, Metadata string
	Permissions              protocol.Permissions
	AutoSubscribe            bool
	Sink                     Sink
	// FailedGrace keeps a participant whose connection failed for this long, for its client
	// to restart ICE (the resume window of a client that can resume); 0 closes it at once.
	FailedGrace time.Duration
}

// Participant is one session in a room: who it is, what it may do, the tracks it publishes and
// those it receives; its Peer holds the connections they flow through. Every change of its state
// runs on its control queue.
type Participant struct {
	room     Room
	env      *Env
	sid      string
	identity string
	perms    protocol.Permissions
	joinedAt time.Time
	sink     Sink
	logger   *slog.Logger
	q        *fifo.Serial

	peer peer.Conn
	// remote is set for a participant of another node (remote.go): no connection, relayed media.
	remote      *remoteState
	failedGrace time.Duration

	mu       sync.Mutex // guards what others read: name, metadata, tracks
	name     string
	metadata string
	tracks   []*PublishedTrack

	// owned by the control queue
	pending       map[string]*PublishedTrack // announced by cid, waiting for media
	down          *downlink.Set              // what it receives
	explicit      map[string]bool            // track sid -> explicit subscribe choice
	autoSubscribe bool
	offerInFlight bool // a subscriber offer waits for its answer
	needOffer     bool // and another must follow it
	closing       bool

	quality string // last connection quality announced

	// what one client may ask of the server (see Limits)
	requests                       atomic.Int32 // client requests waiting on the control queue
	offerMu                        sync.Mutex
	newestOffer                    *Request // the publisher offer that will run; older ones are superseded
	reconcileWaiting, allocWaiting atomic.Bool
	tickWaiting                    atomic.Bool
	tickWork                       atomic.Uint32     // tickAllocate|tickQuality|tickReports, merged while waiting
	tickNow                        atomic.Int64      // the latest tick's time (UnixNano)
	updates                        throttle.Throttle // participantUpdated announcements
	dataFrames, dataBytes          *rate.Limiter     // what this participant may send as data
	slowConsumer                   atomic.Bool       // closed for not reading its data

	closeOnce sync.Once
	done      chan struct{}
}

// PublishedTrack is a track a participant publishes.
type PublishedTrack struct {
	sid, cid string
	owner    *Participant
	info     protocol.TrackInfo // guarded by owner.mu
	receiver *sfu.Receiver      // set once media arrives, under owner.mu
	// the pion receiver its layers arrive on (under owner.mu): later layers join the track by it
	rtpReceiver *webrtc.RTPReceiver

	lastNeeded uint8 // layers last announced in subscribedLayers (owner's control queue)
}

// New makes a participant of room r with its connections; the room admits it (Start) or
// drops it (Teardown).
func New(r Room, env *Env, jp JoinParams) (*Participant, error) {
	p := &Participant{
		room: r, env: env, sid: protocol.NewSid("PA_"), identity: jp.Identity, perms: jp.Permissions, joinedAt: time.Now(),
		sink: jp.Sink, failedGrace: jp.FailedGrace, name: jp.Name, metadata: jp.Metadata, autoSubscribe: jp.AutoSubscribe,
		pending: map[string]*PublishedTrack{}, explicit: map[string]bool{}, done: make(chan struct{}),
	}
	lim := env.Limits
	p.dataFrames = rate.NewLimiter(rate.Limit(lim.DataRate), int(lim.DataBurst))
	p.dataBytes = rate.NewLimiter(rate.Limit(lim.DataByteRate), int(lim.DataByteBurst))
	p.updates.Interval = lim.MetadataInterval
	p.logger = env.Logger.With("room", r.Name(), "participant", jp.Identity, "sid", p.sid)
	p.q = fifo.NewSerial(queueCapacity)
	var err error
	if p.peer, err = env.NewPeer(p); err != nil {
		p.q.Close()
		return nil, err
	}
	p.down = p.newDownlink()
	return p, nil
}

// Sid is the participant's session id.
func (p *Participant) Sid() string { return p.sid }

// Identity is the participant's identity from its token.
func (p *Participant) Identity() string { return p.identity }

// Done is closed once the participant has left and released everything.
func (p *Participant) Done() <-chan struct{} { return p.done }

// Info describes the participant as others see it.
func (p *Participant) Info() protocol.ParticipantInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	info := protocol.ParticipantInfo{
		Sid: p.sid, Identity: p.identity, Name: p.name, Metadata: p.metadata,
		Tracks: make([]protocol.TrackInfo, 0, len(p.tracks)), JoinedAt: p.joinedAt.Unix(),
	}
	if p.remote != nil {
		info.Node = p.remote.node
	} else if c := p.env.Cluster; c != nil {
		info.Node = c.NodeID()
	}
	for _, t := range p.tracks {
		info.Tracks = append(info.Tracks, t.info)
	}
	return info
}

func (p *Participant) Send(m protocol.Message) { p.sink.Send(m) }

func (p *Participant) SendJoined(room protocol.RoomInfo, others []*Participant) {
	self := p.InfoWithPermissions()
	list := make([]protocol.ParticipantInfo, 0, len(others))
	for _, o := range others {
		if !o.perms.Hidden {
			list = append(list, o.Info())
		}
	}
	// One message with everyone: the session splits it into frames of the protocol's size.
	p.Send(&protocol.Joined{Room: room, Participant: self, Participants: list,
		ICEServers: p.env.ICEServers(p.identity), ServerVersion: p.env.ServerVersion})
}

// Start sends the first subscriber offer: it carries the data channels and existing tracks.
func (p *Participant) Start() {
	p.q.Push(func() {
		p.reconcile()
		if !p.offerInFlight {
			p.negotiate()
		}
	})
}

// Reconcile runs reconcile on the control queue, once for any number of reasons that
// arrive before it starts.
func (p *Participant) Reconcile() {
	if p.remote == nil { // a remote participant subscribes on its own node
		p.q.PushOnce(&p.reconcileWaiting, p.reconcile)
	}
}

// Allocate chooses every subscription's layer again, once for any number of reasons.
func (p *Participant) Allocate() {
	if p.remote == nil {
		p.q.PushOnce(&p.allocWaiting, p.allocateAll)
	}
}

// PublishedTracks returns the tracks that carry media.
func (p *Participant) PublishedTracks() []*PublishedTrack {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*PublishedTrack, 0, len(p.tracks))
	for _, t := range p.tracks {
		if t.receiver != nil {
			out = append(out, t)
		}
	}
	return out
}

// Close removes the participant, tells its client why (unless reason is ""), and waits until
// its connections and goroutines are gone. Must not be called from the control queue.
func (p *Participant) Close(reason string) {
	p.RequestClose(reason)
	<-p.done
}

// RequestClose schedules the shutdown; safe from anywhere, including the control queue.
func (p *Participant) RequestClose(reason string) {
	p.closeOnce.Do(func() {
		if !p.q.Push(func() { p.shutdown(reason) }) {
			close(p.done)
		}
	})
}

func (p *Participant) shutdown(reason string) {
	if p.remote != nil {
		p.shutdownRemote()
		return
	}
	p.closing = true
	p.down.Stop()
	p.room.Leave(p)
	if reason != "" && reason != protocol.LeaveClient {
		l := &protocol.Leave{Reason: reason}
		if reason == protocol.LeaveServerShutdown && p.env.Redirect != nil {
			l.Redirect = p.env.Redirect()
		}
		p.Send(l)
	}
	// The client must read why before its peer connections go: flush and close the session
	// first (bounded, a client that does not read cannot hold the shutdown).
	p.sink.Close()
	select {
	case <-p.sink.Done():
	case <-time.After(5 * time.Second):
	}
	p.down.Detach()
	p.Teardown()
	p.down.Retire()
	p.mu.Lock()
	tracks := p.tracks
	p.mu.Unlock()
	for _, t := range tracks {
		p.env.retireReceiver(t.receiver)
		t.receiver.Close()
	}
	if p.env.OnEvent != nil {
		for _, t := range tracks {
			p.mu.Lock()
			info := t.info
			p.mu.Unlock()
			p.Emit(EventTrackUnpublished, &info, reason)
		}
		p.Emit(leaveEvent(reason), nil, reason)
	}
	p.updates.Stop()
	p.q.Close()
	close(p.done)
	p.logger.Info("participant left", "reason", reason)
}

// Teardown closes both peer connections (which ends every reader of this participant).
func (p *Participant) Teardown() {
	p.peer.Close()
	if p.q != nil && !p.closing {
		p.q.Close()
	}
}

// Hidden reports whether the participant is hidden from the others (a recorder, a monitor).
func (p *Participant) Hidden() bool { return p.perms.Hidden }

// JoinedAt is when the participant joined.
func (p *Participant) JoinedAt() time.Time { return p.joinedAt }

// Sid is the track's sid.
func (t *PublishedTrack) Sid() string { return t.sid }

// Owner is the participant that publishes the track.
func (t *PublishedTrack) Owner() *Participant { return t.owner }

// Receiver is the track's receiver; nil until its media arrived.
func (t *PublishedTrack) Receiver() *sfu.Receiver { return t.receiver }

// Info describes the track as others see it.
func (t *PublishedTrack) Info() protocol.TrackInfo {
	t.owner.mu.Lock()
	defer t.owner.mu.Unlock()
	return t.info
}

// OwnerSid is the sid of the participant that publishes the track.
func (t *PublishedTrack) OwnerSid() string { return t.owner.sid }

// OwnerIdentity is the identity of the participant that publishes the track.
func (t *PublishedTrack) OwnerIdentity() string { return t.owner.identity }

// newDownlink makes the participant's subscriptions, on its connection and control queue.
func (p *Participant) newDownlink() *downlink.Set {
	return downlink.New(downlink.Host{
		Peer: p.peer, Send: p.Send, Queue: p.q.Push, Logger: p.logger, Speakers: p.room.Speakers,
		BandwidthEstimation: p.env.BandwidthEstimation, MaxBitrate: p.env.Engine.Config().MaxBitrate,
		Retired: &p.env.Retired,
	})
}

// allocateAll chooses the layer of every video the participant receives and plans its probing.
func (p *Participant) allocateAll() {
	if !p.closing {
		p.down.Allocate(time.Now())
	}
}
