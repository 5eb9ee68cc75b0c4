// Package cluster joins Podium nodes over NATS: which nodes are alive and how loaded, which
// participants each holds in which room (the directory), and room-wide messages between them.
// Every node is the only authority on its own participants; the directory is the union of
// what the live nodes announce, repaired from their heartbeats when a message was lost.
package cluster

import (
	"encoding/base64"

	"github.com/podium-sfu/podium/protocol"
)

// Subjects, under Config.Prefix. Room names are free text, so a subject carries a room as
// unpadded base64url: dots, spaces and wildcards must not reach NATS.
const (
	subjHeartbeat = ".nodes.heartbeat" // Heartbeat, every node to all
	subjState     = ".rooms.state"     // RoomState, a node's participants of one room
	subjSync      = ".node.%s.sync"    // request: a node's whole state (Snapshot)
	subjData      = ".room.%s.data"    // DataMessage, room-wide
	subjCall      = ".node.%s.call"    // request: Call, an action on a node's participant
)

func roomToken(room string) string { return base64.RawURLEncoding.EncodeToString([]byte(room)) }

// Load is what a node tells the others of how busy it is.
type Load struct {
	CPU           float64 `json:"cpu"` // cores in use by the process, averaged over the last interval
	Participants  int     `json:"participants"`
	PacketsPerSec float64 `json:"packetsPerSec"` // RTP packets forwarded
}

// NodeInfo describes a live node.
type NodeInfo struct {
	ID     string `json:"id"`
	Addr   string `json:"addr"` // where clients reach it (a ws:// or wss:// URL)
	Region string `json:"region,omitempty"`
	Load   Load   `json:"load"`
	// Draining nodes take no joins; their participants move to others.
	Draining bool `json:"draining,omitempty"`
}

// Heartbeat is sent every Config.Heartbeat. Epoch changes when a node restarts; Seq is the
// number of its last state change, so a receiver that missed one asks for the whole state.
type Heartbeat struct {
	Node  NodeInfo `json:"node"`
	Epoch int64    `json:"epoch"`
	Seq   uint64   `json:"seq"`
	// Leaving says goodbye: the others drop the node at once rather than after NodeTTL.
	Leaving bool `json:"leaving,omitempty"`
}

// RoomState is one node's participants in one room after its state change number Seq.
// An empty list means the node holds nobody there any more.
type RoomState struct {
	Node     string `json:"node"`
	Epoch    int64  `json:"epoch"`
	Seq      uint64 `json:"seq"`
	Room     string `json:"room"`
	Metadata string `json:"metadata,omitempty"`
	// MetadataAt is when the room's metadata was set through the server API (Unix ns; 0:
	// never): the newest setting wins on every node.
	MetadataAt   int64                      `json:"metadataAt,omitempty"`
	Participants []protocol.ParticipantInfo `json:"participants"`
}

// Snapshot is a node's whole state: every room it holds someone in.
type Snapshot struct {
	Node  string      `json:"node"`
	Epoch int64       `json:"epoch"`
	Seq   uint64      `json:"seq"`
	Rooms []RoomState `json:"rooms"`
}

// DataMessage is a data message published in a room on one node, for the room's
// participants on the others, as the sender's node relays it (stamped with "from").
type DataMessage struct {
	Node    string   `json:"node"`
	Room    string   `json:"room"`
	Label   string   `json:"label"` // the data channel: reliable or lossy
	Text    bool     `json:"text,omitempty"`
	Payload []byte   `json:"payload"`
	To      []string `json:"to,omitempty"` // identities; empty for everyone
}

// Call asks the node holding a participant to act on it (the server API on any node).
type Call struct {
	Op       string `json:"op"` // see Handler.Call
	Room     string `json:"room"`
	Identity string `json:"identity"`
	Args     []byte `json:"args,omitempty"` // the op's JSON arguments
}

// CallReply is the answer to a Call: an error text, or a JSON result.
type CallReply struct {
	Error  string `json:"error,omitempty"`
	Result []byte `json:"result,omitempty"`
}
