package api

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/podium-sfu/podium/protocol"
)

// ListRooms returns every room of the server.
func (c *Client) ListRooms(ctx context.Context) ([]protocol.RoomInfo, error) {
	var out struct {
		Rooms []protocol.RoomInfo `json:"rooms"`
	}
	err := c.call(ctx, http.MethodGet, "/api/rooms", roomList(), nil, &out)
	return out.Rooms, err
}

// RoomOptions are a new room's settings; zero values take the server's defaults.
type RoomOptions struct {
	Name            string
	MaxParticipants int
	EmptyTimeout    time.Duration // whole seconds
	Metadata        string
}

// CreateRoom creates a room, or returns the existing one of that name.
func (c *Client) CreateRoom(ctx context.Context, o RoomOptions) (protocol.RoomInfo, error) {
	in := map[string]any{"name": o.Name, "maxParticipants": o.MaxParticipants,
		"emptyTimeout": int(o.EmptyTimeout / time.Second), "metadata": o.Metadata}
	var out protocol.RoomInfo
	err := c.call(ctx, http.MethodPost, "/api/rooms", roomCreate(), in, &out)
	return out, err
}

// GetRoom returns one room.
func (c *Client) GetRoom(ctx context.Context, room string) (protocol.RoomInfo, error) {
	var out protocol.RoomInfo
	err := c.call(ctx, http.MethodGet, "/api/rooms/"+esc(room), roomAdmin(room), nil, &out)
	return out, err
}

// UpdateRoomMetadata replaces a room's metadata; its participants are told.
func (c *Client) UpdateRoomMetadata(ctx context.Context, room, metadata string) (protocol.RoomInfo, error) {
	var out protocol.RoomInfo
	err := c.call(ctx, http.MethodPatch, "/api/rooms/"+esc(room), roomAdmin(room), map[string]any{"metadata": metadata}, &out)
	return out, err
}

// DeleteRoom closes a room: every participant gets leave (room_closed).
func (c *Client) DeleteRoom(ctx context.Context, room string) error {
	return c.call(ctx, http.MethodDelete, "/api/rooms/"+esc(room), roomAdmin(room), nil, nil)
}

// ListParticipants returns a room's participants, hidden ones included.
func (c *Client) ListParticipants(ctx context.Context, room string) ([]protocol.ParticipantInfo, error) {
	var out struct {
		Participants []protocol.ParticipantInfo `json:"participants"`
	}
	err := c.call(ctx, http.MethodGet, "/api/rooms/"+esc(room)+"/participants", roomAdmin(room), nil, &out)
	return out.Participants, err
}

func participantPath(room, identity string) string {
	return "/api/rooms/" + esc(room) + "/participants/" + esc(identity)
}

// GetParticipant returns one participant, with its permissions.
func (c *Client) GetParticipant(ctx context.Context, room, identity string) (protocol.ParticipantInfo, error) {
	var out protocol.ParticipantInfo
	err := c.call(ctx, http.MethodGet, participantPath(room, identity), roomAdmin(room), nil, &out)
	return out, err
}

// RemoveParticipant disconnects a participant (leave: kicked).
func (c *Client) RemoveParticipant(ctx context.Context, room, identity string) error {
	return c.call(ctx, http.MethodDelete, participantPath(room, identity), roomAdmin(room), nil, nil)
}

// ParticipantUpdate changes what is set: nil fields stay as they are.
type ParticipantUpdate struct {
	Name     *string `json:"name,omitempty"`
	Metadata *string `json:"metadata,omitempty"`
	// Permissions change the participant's own, live, field by field: revoking canPublish
	// unpublishes its tracks, revoking canSubscribe ends its subscriptions.
	Permissions *PermissionsUpdate `json:"permissions,omitempty"`
}

// PermissionsUpdate changes the permissions that are set; nil fields stay as they are.
type PermissionsUpdate struct {
	CanPublish        *bool     `json:"canPublish,omitempty"`
	CanSubscribe      *bool     `json:"canSubscribe,omitempty"`
	CanPublishData    *bool     `json:"canPublishData,omitempty"`
	CanPublishSources *[]string `json:"canPublishSources,omitempty"` // empty list: every source
	Hidden            *bool     `json:"hidden,omitempty"`            // refused: it comes from the token
}

// Bool is a pointer to b, for the optional fields of updates.
func Bool(b bool) *bool { return &b }

// UpdateParticipant changes a participant's name, metadata or permissions.
func (c *Client) UpdateParticipant(ctx context.Context, room, identity string, u ParticipantUpdate) (protocol.ParticipantInfo, error) {
	var out protocol.ParticipantInfo
	err := c.call(ctx, http.MethodPatch, participantPath(room, identity), roomAdmin(room), u, &out)
	return out, err
}

// MuteTrack mutes a participant's track, or unmutes it where the server allows remote unmute.
func (c *Client) MuteTrack(ctx context.Context, room, identity, trackSid string, muted bool) error {
	in := map[string]any{"trackSid": trackSid, "muted": muted}
	return c.call(ctx, http.MethodPost, participantPath(room, identity)+"/mute", roomAdmin(room), in, nil)
}

// UpdateSubscriptions subscribes a participant to tracks, or unsubscribes it.
func (c *Client) UpdateSubscriptions(ctx context.Context, room, identity string, trackSids []string, subscribe bool) error {
	in := map[string]any{"trackSids": trackSids, "subscribe": subscribe}
	return c.call(ctx, http.MethodPost, participantPath(room, identity)+"/subscriptions", roomAdmin(room), in, nil)
}

// Allocation explains a participant's last allocation: its estimate and video budget, and per
// video it receives the layer wanted, the layer chosen and why. The participant must be on the
// node asked.
func (c *Client) Allocation(ctx context.Context, room, identity string) (protocol.Allocation, error) {
	var out protocol.Allocation
	err := c.call(ctx, http.MethodGet, participantPath(room, identity)+"/allocation", roomAdmin(room), nil, &out)
	return out, err
}

// Data is a message from the server to a room's participants, relayed as a participant's text
// data message is, with "from" empty.
type Data struct {
	Topic   string          `json:"topic,omitempty"`
	Payload json.RawMessage `json:"payload"`      // any JSON value
	To      []string        `json:"to,omitempty"` // identities; empty: everyone
	Lossy   bool            `json:"lossy,omitempty"`
}

// SendData sends a data message to a room.
func (c *Client) SendData(ctx context.Context, room string, d Data) error {
	return c.call(ctx, http.MethodPost, "/api/rooms/"+esc(room)+"/data", roomAdmin(room), d, nil)
}

// Node is one live node of a cluster (docs/cluster.md).
type Node struct {
	ID       string `json:"id"`
	Addr     string `json:"addr"`
	Region   string `json:"region,omitempty"`
	Draining bool   `json:"draining,omitempty"`
	Load     struct {
		CPU           float64 `json:"cpu"` // cores in use by the process
		Participants  int     `json:"participants"`
		PacketsPerSec float64 `json:"packetsPerSec"`
	} `json:"load"`
}

// ListNodes returns the cluster's live nodes, the answering one first; none on a lone node.
func (c *Client) ListNodes(ctx context.Context) ([]Node, error) {
	var out struct {
		Nodes []Node `json:"nodes"`
	}
	err := c.call(ctx, http.MethodGet, "/api/nodes", roomList(), nil, &out)
	return out.Nodes, err
}
