package room

import (
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/sfu"
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
	participants map[string]*Participant // by sid
	byIdentity   map[string]*Participant
	emptyTimer   *time.Timer
	closed       bool

	// clock ticks the room's periodic work (tick) and its publishers' feedback, on one timer.
	clock *sfu.Clock
	ticks int // touched by the clock's goroutine only

	detector        *sfu.SpeakerDetector // touched by the clock's goroutine only
	speakers        speakers             // guarded by mu
	lastSpeakersKey string
	lastSpeakersAt  time.Time
	departed        []string // sids the detector must forget
}

// speakerInterval is how often microphones are sampled for speaker detection and publishers
// hear which layers are needed (sent on change only); every allocateEvery-th sample, every
// subscriber's layers are chosen again (layers start and stop at the publishers, bandwidth
// estimates move). A speaker change reallocates at once.
const (
	speakerInterval = 100 * time.Millisecond
	allocateEvery   = 2
)

func newRoom(m *Manager, o RoomOptions) *Room {
	r := &Room{
		manager: m, name: o.Name, sid: newSid("RM_"), createdAt: time.Now(),
		maxParts: o.MaxParticipants, emptyTTL: o.EmptyTimeout, metadata: o.Metadata,
		participants: map[string]*Participant{}, byIdentity: map[string]*Participant{},
	}
	r.emptyTimer = time.AfterFunc(r.emptyTTL, r.closeIfEmpty)
	r.detector = sfu.NewSpeakerDetector(sfu.SpeakerConfig{})
	r.clock = sfu.NewClock(speakerInterval) // stopped and joined by Close
	r.clock.Every(r.tick)
	return r
}

func (r *Room) tick(now time.Time) {
	r.ticks++
	changed := r.detectSpeakers(now)
	allocate := changed || r.ticks%allocateEvery == 0
	quality, reports := r.ticks%qualityEvery == 0, r.ticks%reportEvery == 0
	for _, p := range r.others(nil) {
		// One job per participant and tick: each push wakes its control goroutine.
		p.q.push(func() {
			if allocate {
				p.allocateAll()
			}
			p.dynacast()
			p.probe(now)
			if quality {
				p.updateQuality()
			}
			if reports {
				p.sendReports(now)
			}
		})
	}
}

// layersChanged tells the others that a track's layers changed, so they choose again.
func (r *Room) layersChanged(from *Participant) {
	for _, o := range r.others(from) {
		o.q.push(o.allocateAll)
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
		if !p.perms.Hidden {
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
		if withHidden || !p.perms.Hidden {
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
	sort.Slice(list, func(i, j int) bool { return list[i].joinedAt.Before(list[j].joinedAt) })
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
	// A second session with the same identity replaces the first.
	if old := r.Participant(jp.Identity); old != nil {
		old.Close(protocol.LeaveDuplicateIdentity)
	}
	p, err := newParticipant(r, jp)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		p.teardown()
		return nil, ErrRoomClosed
	}
	if len(r.participants) >= r.maxParts {
		r.mu.Unlock()
		p.teardown()
		return nil, fmt.Errorf("%w: at most %d participants", ErrRoomFull, r.maxParts)
	}
	if old := r.byIdentity[jp.Identity]; old != nil {
		// Lost a race with another session of the same identity: the newest still wins.
		r.mu.Unlock()
		old.Close(protocol.LeaveDuplicateIdentity)
		r.mu.Lock()
	}
	r.emptyTimer.Stop()
	others := r.sortedLocked()
	r.participants[p.sid] = p
	r.byIdentity[p.identity] = p
	info := r.infoLocked()
	// joined goes out first, then everyone else hears of p: both under the room lock, so no
	// participant appears twice or goes missing between the snapshot and the announcement.
	p.sendJoined(info, others)
	if !p.perms.Hidden {
		pi := p.Info()
		for _, o := range others {
			o.send(&protocol.ParticipantJoined{Participant: pi})
		}
	}
	r.mu.Unlock()
	p.start()
	r.manager.cfg.Logger.Info("participant joined", "room", r.name, "participant", p.identity, "sid", p.sid)
	return p, nil
}

// leave removes p and tells the others. Called once by p when it closes.
func (r *Room) leave(p *Participant) {
	r.mu.Lock()
	if r.participants[p.sid] != p {
		r.mu.Unlock()
		return
	}
	delete(r.participants, p.sid)
	if r.byIdentity[p.identity] == p {
		delete(r.byIdentity, p.identity)
	}
	others := make([]*Participant, 0, len(r.participants))
	for _, o := range r.participants {
		others = append(others, o)
	}
	if len(r.participants) == 0 && !r.closed {
		r.emptyTimer.Reset(r.emptyTTL)
	}
	r.mu.Unlock()
	tracks := p.publishedTracks()
	r.forgetSpeaker(p.sid)
	for _, o := range others {
		if !p.perms.Hidden {
			for _, t := range tracks {
				o.send(&protocol.TrackUnpublished{ParticipantSid: p.sid, TrackSid: t.sid})
			}
			o.send(&protocol.ParticipantLeft{Sid: p.sid})
		}
		o.enqueueReconcile()
	}
}

// trackChanged tells every other participant to reconcile its subscriptions.
func (r *Room) trackChanged(from *Participant, announce protocol.Message) {
	for _, o := range r.others(from) {
		if announce != nil && !from.perms.Hidden {
			o.send(announce)
		}
		o.enqueueReconcile()
	}
}

func (r *Room) closeIfEmpty() {
	r.mu.Lock()
	empty := len(r.participants) == 0 && !r.closed
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
}
