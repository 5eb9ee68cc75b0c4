package serverapi

import (
	"encoding/json"
	"net/http"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/protocol"
)

// Cluster is what the server API needs of the other nodes, so that any node answers for the
// whole cluster (docs/cluster.md); nil on a lone node.
type Cluster interface {
	// RemoteRooms are the rooms only other nodes hold, with their participants.
	RemoteRooms() map[string][]protocol.ParticipantInfo
	// Locate names the other node a room's participant is connected to; false when the
	// participant is on this node or nowhere.
	Locate(room, identity string) (node string, ok bool)
	// Forward asks that node to act on its participant: OpKick, or OpMute with MuteArgs.
	Forward(node, op, room, identity string, args []byte) error
	// Nodes lists the live nodes with their load, this one first.
	Nodes() any
}

// The actions one node forwards to another.
const (
	OpKick = "kick"
	OpMute = "mute"
)

// MuteArgs are OpMute's arguments.
type MuteArgs struct {
	TrackSid string `json:"trackSid"`
	Muted    bool   `json:"muted"`
}

// SetCluster makes the server API answer for every node of a cluster.
func (s *API) SetCluster(c Cluster) { s.cluster = c }

// remoteRooms is the rooms only other nodes hold, as RoomInfos.
func (s *API) remoteRooms() []protocol.RoomInfo {
	if s.cluster == nil {
		return nil
	}
	var out []protocol.RoomInfo
	for name, list := range s.cluster.RemoteRooms() {
		if s.rooms.Room(name) == nil {
			out = append(out, protocol.RoomInfo{Name: name, NumParticipants: len(list)})
		}
	}
	return out
}

// forwarded acts on a participant of another node, and reports whether it did.
func (s *API) forwarded(w http.ResponseWriter, r *http.Request, c *auth.Claims, op string, args any) bool {
	name, identity := r.PathValue("room"), r.PathValue("identity")
	if s.cluster == nil || !adminOf(c, name) {
		return false
	}
	node, ok := s.cluster.Locate(name, identity)
	if !ok {
		return false
	}
	b, err := json.Marshal(args)
	if err == nil {
		err = s.cluster.Forward(node, op, name, identity, b)
	}
	if err != nil {
		s.roomError(w, err)
		return true
	}
	w.WriteHeader(http.StatusNoContent)
	return true
}

// listNodes answers GET /api/nodes: the cluster's live nodes and their load.
func (s *API) listNodes(w http.ResponseWriter, _ *http.Request, c *auth.Claims) {
	if !c.Grant.RoomList {
		forbidden(w, "roomList")
		return
	}
	var nodes any = []any{}
	if s.cluster != nil {
		nodes = s.cluster.Nodes()
	}
	writeJSON(w, http.StatusOK, map[string]any{"nodes": nodes})
}

// remoteParticipants answers for a room only other nodes hold (nil: none does).
func (s *API) remoteParticipants(name string) []protocol.ParticipantInfo {
	if s.cluster == nil {
		return nil
	}
	return s.cluster.RemoteRooms()[name]
}
