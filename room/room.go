package room

import (
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room/participant"
	"github.com/podium-sfu/podium/sfu/clock"
	"github.com/podium-sfu/podium/sfu/speaker"
)

// Room is a set of participants that see and hear each other.
type Room struct {
	manager   *Manager
	name, sid string
	createdAt time.Time
	maxParts  int
	emptyTTL  time.Duration

	mu           sync.Mutex
	metadata     string
	metadataAt   int64                   // when the server API set metadata (Unix ns), for the cluster's newest-wins
	participants map[string]*Participant // by sid
	byIdentity   map[string]*Participant
	emptyTimer   *time.Timer
	closed       bool

	// clock ticks the room's periodic work (tick) and its publishers' feedback, on one timer.
	clock *clock.Clock
	ticks int // touched by the clock's goroutine only

	detector        *speaker.Detector // touched by the clock's goroutine only
	speakers        speakers          // guarded by mu
	lastSpeakersKey string
	lastSpeakersAt  time.Time
	departed        []string // sids the detector must forget

	clusterDirty atomic.Bool // this node's share changed since the cluster last heard it
}

// speakerInterval is how often microphones are sampled for speaker detection (see
// speaker.SampleInterval); every workEvery-th sample the participants tick (publishers hear
// which layers are needed, sent on change only; probes are paced). Every allocateEvery-th of
// their ticks, every subscriber's layers are chosen again (layers start and stop at the
// publishers, bandwidth estimates move). A speaker change reallocates at once. Every
// reportEvery-th, subscribers get sender reports: once a second, like browsers send them.
// Every qualityEvery-th, connection quality is computed again.
const (
	speakerInterval = speaker.SampleInterval
	workEvery       = int(participant.TickInterval / speakerInterval)
	allocateEvery   = 2
	reportEvery     = 10
	qualityEvery    = 20
)

func newRoom(m *Manager, o RoomOptions) *Room {
	r := &Room{
		manager: m, name: o.Name, sid: protocol.NewSid("RM_"), createdAt: time.Now(),
		maxParts: o.MaxParticipants, emptyTTL: o.EmptyTimeout, metadata: o.Metadata,
		participants: map[string]*Participant{}, byIdentity: map[string]*Participant{},
	}
	r.emptyTimer = time.AfterFunc(r.emptyTTL, r.closeIfEmpty)
	r.detector = speaker.NewDetector(speaker.Config{})
	r.clock = clock.New(speakerInterval) // stopped and joined by Close
	r.clock.Every(r.tick)
	return r
}

func (r *Room) tick(now time.Time) {
	r.ticks++
	r.detectSpeakers(now)
	if r.ticks%workEvery != 0 {
		return // a speaker change has queued its own allocations (stageChanged)
	}
	ticks := r.ticks / workEvery
	work := uint32(0)
	if ticks%allocateEvery == 0 {
		work |= participant.TickAllocate
	}
	if ticks%qualityEvery == 0 {
		work |= participant.TickQuality
	}
	if ticks%reportEvery == 0 {
		work |= participant.TickReports
	}
	for _, p := range r.others(nil) {
		p.Tick(now, work)
	}
	r.announceToCluster()
}

// layersChanged tells the others that a track's layers changed, so they choose again.
func (r *Room) layersChanged(from *Participant) {
	for _, o := range r.others(from) {
		o.Allocate()
	}
}

// Name is the room's name.
func (r *Room) Name() string { return r.name }

// Info describes the room.
func (r *Room) Info() protocol.RoomInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.infoLocked()
}

func (r *Room) infoLocked() protocol.RoomInfo {
	n := 0
	for _, p := range r.participants {
		if !p.Hidden() {
			n++
		}
	}
	return protocol.RoomInfo{
		Name: r.name, Sid: r.sid, Metadata: r.metadata, MaxParticipants: r.maxParts,
		EmptyTimeout: int(r.emptyTTL / time.Second), NumParticipants: n, CreatedAt: r.createdAt.Unix(),
	}
}

// Participants lists the participants (hidden ones included when withHidden).
func (r *Room) Participants(withHidden bool) []protocol.ParticipantInfo {
	r.mu.Lock()
	list := r.sortedLocked()
	r.mu.Unlock()
	out := make([]protocol.ParticipantInfo, 0, len(list))
	for _, p := range list {
		if withHidden || !p.Hidden() {
			out = append(out, p.Info())
		}
	}
	return out
}

// Participant finds a participant by identity.
func (r *Room) Participant(identity string) *Participant {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byIdentity[identity]
}

func (r *Room) sortedLocked() []*Participant {
	list := make([]*Participant, 0, len(r.participants))
	for _, p := range r.participants {
		list = append(list, p)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].JoinedAt().Before(list[j].JoinedAt()) })
	return list
}

// others returns every participant but p (nil p: everyone).
func (r *Room) others(p *Participant) []*Participant {
	r.mu.Lock()
	defer r.mu.Unlock()
	list := make([]*Participant, 0, len(r.participants))
	for _, o := range r.participants {
		if o != p {
			list = append(list, o)
		}
	}
	return list
}

func (r *Room) join(jp JoinParams) (*Participant, error) {
	if err := validateJoin(jp); err != nil {
		return nil, err
	}
	p, err := participant.New(view{r}, r.manager.env, jp)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	if err := r.admitLocked(p); err != nil {
		r.mu.Unlock()
		p.Teardown()
		return nil, err
	}
	// One session per identity: the newest replaces the old one in the same critical section
	// that admits it, so no interleaving of joins, kicks and leaves leaves two behind.
	old := r.byIdentity[p.Identity()]
	var oldLeft departure
	if old != nil {
		oldLeft = r.removeLocked(old)
	}
	r.emptyTimer.Stop()
	others := r.sortedLocked()
	r.participants[p.Sid()] = p
	r.clusterDirty.Store(true)
	r.byIdentity[p.Identity()] = p
	info := r.infoLocked()
	// joined goes out first, then everyone else hears of p: both under the room lock, so no
	// participant appears twice or goes missing between the snapshot and the announcement.
	p.SendJoined(info, others)
	if old != nil {
		oldLeft.announce()
	}
	if !p.Hidden() {
		pi := p.Info()
		for _, o := range others {
			o.Send(&protocol.ParticipantJoined{Participant: pi})
		}
	}
	r.mu.Unlock()
	if old != nil {
		oldLeft.settle(r)
		old.RequestClose(protocol.LeaveDuplicateIdentity) // it is out of the room already
	}
	p.Start()
	r.manager.cfg.Logger.Info("participant joined", "room", r.name, "participant", p.Identity(), "sid", p.Sid())
	p.Emit(EventParticipantJoined, nil, "")
	return p, nil
}

// validateJoin bounds what a token may put in the room's state.
func validateJoin(jp JoinParams) error {
	switch {
	case jp.Identity == "" || len(jp.Identity) > protocol.MaxIDLen:
		return fmt.Errorf("%w: identity must be 1 to %d bytes", ErrBadRequest, protocol.MaxIDLen)
	case len(jp.Name) > protocol.MaxNameLen:
		return fmt.Errorf("%w: name longer than %d bytes", ErrBadRequest, protocol.MaxNameLen)
	case protocol.EncodedLen(jp.Metadata) > protocol.MaxMetadataLen:
		return fmt.Errorf("%w: metadata longer than %d bytes as JSON", ErrBadRequest, protocol.MaxMetadataLen)
	}
	return nil
}

// admitLocked checks that p may come in: the room is open and, not counting a session p
// replaces, has room for one more of its kind. Hidden participants (recorders, monitors) are
// not counted in the room's cap, as they are not in numParticipants, but have a cap of their own.
func (r *Room) admitLocked(p *Participant) error {
	if r.closed {
		return ErrRoomClosed
	}
	visible, hidden := 0, 0
	for _, o := range r.participants {
		if o.Identity() == p.Identity() {
			continue // about to be replaced
		}
		if o.Hidden() {
			hidden++
		} else {
			visible++
		}
	}
	if p.Hidden() {
		if limit := r.manager.cfg.Limits.MaxHiddenParticipants; hidden >= limit {
			return fmt.Errorf("%w: at most %d hidden participants", ErrRoomFull, limit)
		}
		return nil
	}
	if visible >= r.maxParts {
		return fmt.Errorf("%w: at most %d participants", ErrRoomFull, r.maxParts)
	}
	return nil
}

// departure is what the others must hear and do when a participant leaves.
type departure struct {
	p      *Participant
	others []*Participant
	tracks []*PublishedTrack
}

// removeLocked takes p out of the room; the caller announces and settles the departure.
func (r *Room) removeLocked(p *Participant) departure {
	delete(r.participants, p.Sid())
	r.clusterDirty.Store(!p.IsRemote() || r.clusterDirty.Load())
	if r.byIdentity[p.Identity()] == p {
		delete(r.byIdentity, p.Identity())
	}
	d := departure{p: p, others: make([]*Participant, 0, len(r.participants)), tracks: p.PublishedTracks()}
	for _, o := range r.participants {
		d.others = append(d.others, o)
	}
	return d
}

// announce tells the others that the participant and its tracks are gone.
func (d departure) announce() {
	if d.p.Hidden() {
		return
	}
	for _, o := range d.others {
		for _, t := range d.tracks {
			o.Send(&protocol.TrackUnpublished{ParticipantSid: d.p.Sid(), TrackSid: t.Sid()})
		}
		o.Send(&protocol.ParticipantLeft{Sid: d.p.Sid()})
	}
}

// settle makes the others drop their subscriptions to the participant's tracks.
func (d departure) settle(r *Room) {
	r.forgetSpeaker(d.p.Sid())
	for _, o := range d.others {
		o.Reconcile()
	}
}

// leave removes p and tells the others. Called once by p when it closes; a no-op when p was
// replaced by a newer session of its identity (join announced that).
func (r *Room) leave(p *Participant) {
	r.mu.Lock()
	if r.participants[p.Sid()] != p {
		r.mu.Unlock()
		return
	}
	d := r.removeLocked(p)
	if r.localCountLocked() == 0 && !r.closed {
		r.emptyTimer.Reset(r.emptyTTL)
	}
	d.announce()
	r.mu.Unlock()
	d.settle(r)
}

// trackChanged tells every other participant to reconcile its subscriptions.
func (r *Room) trackChanged(from *Participant, announce protocol.Message) {
	if !from.IsRemote() {
		r.clusterDirty.Store(true)
	}
	for _, o := range r.others(from) {
		if announce != nil && !from.Hidden() {
			o.Send(announce)
		}
		o.Reconcile()
	}
}

func (r *Room) closeIfEmpty() {
	r.mu.Lock()
	empty := r.localCountLocked() == 0 && !r.closed
	r.mu.Unlock()
	if empty {
		r.Close(protocol.LeaveRoomClosed)
	}
}

// Close removes every participant with the given leave reason and deletes the room.
func (r *Room) Close(reason string) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	r.emptyTimer.Stop()
	list := r.sortedLocked()
	info := r.infoLocked()
	r.mu.Unlock()
	r.clock.Close()
	var wg sync.WaitGroup
	for _, p := range list {
		wg.Add(1)
		go func() { // participants close in parallel; each waits for its own goroutines
			defer wg.Done()
			p.Close(reason)
		}()
	}
	wg.Wait()
	r.manager.removeRoom(r)
	info.NumParticipants = 0
	r.manager.emit(Event{Kind: EventRoomFinished, Room: info, Reason: reason})
}
