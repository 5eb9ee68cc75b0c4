package room

import (
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room/participant"
	"github.com/podium-sfu/podium/sfu"
)

// RoomOptions are set when a room is created explicitly (the HTTP API) or on first join.
type RoomOptions struct {
	Name            string
	MaxParticipants int
	EmptyTimeout    time.Duration
	Metadata        string
}

// Manager is the directory of the rooms on this node.
type Manager struct {
	cfg Config
	// env is what every participant of the node shares, the cluster and the counters with it
	env   *participant.Env
	wants wants // what this node asks of the others' tracks

	mu     sync.Mutex
	rooms  map[string]*Room
	closed bool
}

// NewManager makes an empty directory that creates peer connections with engine.
func NewManager(cfg Config, engine *sfu.Engine) *Manager {
	cfg.defaults()
	env := &participant.Env{
		Limits: cfg.Limits, MaxTracks: cfg.MaxTracksPerParticipant, BandwidthEstimation: cfg.BandwidthEstimation,
		AllowRemoteUnmute: cfg.AllowRemoteUnmute, ServerVersion: cfg.ServerVersion, ICEServers: cfg.iceServers,
		Redirect: cfg.Redirect, OnEvent: cfg.OnEvent, Engine: engine, Logger: cfg.Logger, NewPeer: participant.NewPeer,
	}
	m := &Manager{cfg: cfg, env: env, rooms: map[string]*Room{}}
	env.Want = func(node, participant string, tracks map[string]uint8) {
		m.wants.set(m.env.Cluster, node, participant, tracks)
	}
	return m
}

func (m *Manager) emit(e Event) {
	if m.cfg.OnEvent != nil {
		m.cfg.OnEvent(e)
	}
}

// CreateRoom creates a room, or returns the existing one with that name.
func (m *Manager) CreateRoom(o RoomOptions) (*Room, error) {
	r, created, err := m.createRoom(o)
	if created {
		r.addRemotes()
		m.emit(Event{Kind: EventRoomStarted, Room: r.Info()})
	}
	return r, err
}

func (m *Manager) createRoom(o RoomOptions) (r *Room, created bool, err error) {
	if o.Name == "" || len(o.Name) > 128 {
		return nil, false, fmt.Errorf("%w: room name must be 1 to 128 bytes", ErrBadRequest)
	}
	if protocol.EncodedLen(o.Metadata) > protocol.MaxMetadataLen {
		return nil, false, fmt.Errorf("%w: room metadata longer than %d bytes as JSON", ErrBadRequest, protocol.MaxMetadataLen)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, false, ErrShuttingDown
	}
	if r, ok := m.rooms[o.Name]; ok {
		return r, false, nil
	}
	if len(m.rooms) >= m.cfg.MaxRooms {
		return nil, false, fmt.Errorf("%w: at most %d rooms", ErrLimit, m.cfg.MaxRooms)
	}
	if o.MaxParticipants <= 0 {
		o.MaxParticipants = m.cfg.MaxParticipants
	}
	if o.EmptyTimeout <= 0 {
		o.EmptyTimeout = m.cfg.EmptyTimeout
	}
	r = newRoom(m, o)
	m.rooms[o.Name] = r
	m.cfg.Logger.Info("room created", "room", o.Name, "sid", r.sid)
	return r, true, nil
}

// Limits are the per-participant limits in force (signalling enforces its own part of them).
func (m *Manager) Limits() Limits { return m.cfg.Limits }

// Room returns the room with this name, or nil.
func (m *Manager) Room(name string) *Room {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rooms[name]
}

// Rooms lists the rooms, sorted by name.
func (m *Manager) Rooms() []protocol.RoomInfo {
	m.mu.Lock()
	rooms := make([]*Room, 0, len(m.rooms))
	for _, r := range m.rooms {
		rooms = append(rooms, r)
	}
	m.mu.Unlock()
	out := make([]protocol.RoomInfo, 0, len(rooms))
	for _, r := range rooms {
		out = append(out, r.Info())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Join puts a participant in a room, creating the room when needed.
func (m *Manager) Join(roomName string, p JoinParams) (*Participant, error) {
	r, err := m.CreateRoom(RoomOptions{Name: roomName})
	if err != nil {
		return nil, err
	}
	return r.join(p)
}

// CloseRoom removes every participant (leave "room_closed") and deletes the room.
func (m *Manager) CloseRoom(name string) error {
	r := m.Room(name)
	if r == nil {
		return ErrNotFound
	}
	r.Close(protocol.LeaveRoomClosed)
	return nil
}

func (m *Manager) removeRoom(r *Room) {
	m.mu.Lock()
	if m.rooms[r.name] == r {
		delete(m.rooms, r.name)
	}
	m.mu.Unlock()
	if m.env.Cluster != nil {
		m.env.Cluster.Announce(r.name, "", 0, nil) // the room's clock has stopped: say it here
	}
	m.cfg.Logger.Info("room closed", "room", r.name)
}

// Close ends every room with leave "server_shutdown" and waits for the participants to go.
func (m *Manager) Close() {
	m.mu.Lock()
	m.closed = true
	rooms := make([]*Room, 0, len(m.rooms))
	for _, r := range m.rooms {
		rooms = append(rooms, r)
	}
	m.mu.Unlock()
	var wg sync.WaitGroup
	for _, r := range rooms {
		wg.Add(1)
		go func() { // rooms shut down in parallel: each waits for its peer connections to close
			defer wg.Done()
			r.Close(protocol.LeaveServerShutdown)
		}()
	}
	wg.Wait()
}

// ParticipantCount is the number of participants on this node.
func (m *Manager) ParticipantCount() int {
	n := 0
	for _, r := range m.roomList() {
		r.mu.Lock()
		for _, p := range r.participants {
			if !p.IsRemote() && !p.Hidden() {
				n++ // another node's participants are counted there
			}
		}
		r.mu.Unlock()
	}
	return n
}
