// Package protocol holds Podium's signalling wire types: the JSON messages that travel over the
// WebSocket between a client and the server. It is shared by the server (signaling/) and the Go SDK
// (client/); it knows nothing about rooms or RTP.
package protocol

// MaxMessageSize is the largest signalling frame either side accepts.
const MaxMessageSize = 64 << 10

// Targets of offer, answer and candidate messages.
const (
	TargetPublisher  = "publisher"
	TargetSubscriber = "subscriber"
)

// Track kinds and sources.
const (
	KindAudio = "audio"
	KindVideo = "video"

	SourceCamera      = "camera"
	SourceMicrophone  = "microphone"
	SourceScreen      = "screen"
	SourceScreenAudio = "screen_audio"
)

// ValidSource reports whether s is one of the track sources.
func ValidSource(s string) bool {
	return s == SourceCamera || s == SourceMicrophone || s == SourceScreen || s == SourceScreenAudio
}

// Leave reasons.
const (
	LeaveClient            = "client"
	LeaveKicked            = "kicked"
	LeaveRoomClosed        = "room_closed"
	LeaveDuplicateIdentity = "duplicate_identity"
	LeaveServerShutdown    = "server_shutdown"
	// LeaveSlowConsumer: the client did not read what it was sent (signalling or reliable
	// data) for too long; it may rejoin.
	LeaveSlowConsumer = "slow_consumer"
	// LeaveRateLimited: the client went on sending over its rate limit after being told.
	LeaveRateLimited = "rate_limited"
)

// Error codes.
const (
	CodeBadRequest   = "bad_request"
	CodeUnauthorized = "unauthorized"
	CodeForbidden    = "forbidden"
	CodeNotFound     = "not_found"
	CodeLimit        = "limit"
	CodeConflict     = "conflict"
	CodeInternal     = "internal"
	// CodeRateLimited: the request was dropped because the client sends too fast.
	CodeRateLimited = "rate_limited"
	// CodeSuperseded: a newer request of the same kind replaced this one before it ran.
	CodeSuperseded = "superseded"
)

// Message is any signalling message; MessageType is its "type" on the wire.
type Message interface {
	MessageType() string
}

// Permissions are the grants of a participant, as carried in its token.
type Permissions struct {
	CanPublish        bool     `json:"canPublish"`
	CanSubscribe      bool     `json:"canSubscribe"`
	CanPublishData    bool     `json:"canPublishData"`
	CanPublishSources []string `json:"canPublishSources,omitempty"`
	Hidden            bool     `json:"hidden,omitempty"`
	RoomAdmin         bool     `json:"roomAdmin,omitempty"`
}

// Layer describes one simulcast encoding of a video track.
type Layer struct {
	RID        string `json:"rid"`
	Width      int    `json:"width,omitempty"`
	Height     int    `json:"height,omitempty"`
	MaxBitrate int    `json:"maxBitrate,omitempty"`
}

// TrackInfo describes a published track.
type TrackInfo struct {
	Sid    string  `json:"sid"`
	Kind   string  `json:"kind"`
	Source string  `json:"source"`
	Muted  bool    `json:"muted"`
	Width  int     `json:"width,omitempty"`
	Height int     `json:"height,omitempty"`
	Layers []Layer `json:"layers,omitempty"`
	// MimeType is the negotiated codec (an extension to the v1 contract), empty until media flows.
	MimeType string `json:"mimeType,omitempty"`
}

// ParticipantInfo describes a participant. Permissions is filled only for the participant itself.
type ParticipantInfo struct {
	Sid         string       `json:"sid"`
	Identity    string       `json:"identity"`
	Name        string       `json:"name"`
	Metadata    string       `json:"metadata"`
	Tracks      []TrackInfo  `json:"tracks"`
	Permissions *Permissions `json:"permissions,omitempty"`
	JoinedAt    int64        `json:"joinedAt,omitempty"`
	// Node is the cluster node the participant is connected to (docs/cluster.md); empty on a
	// lone node.
	Node string `json:"node,omitempty"`
}

// RoomInfo describes a room.
type RoomInfo struct {
	Name            string `json:"name"`
	Sid             string `json:"sid"`
	Metadata        string `json:"metadata"`
	MaxParticipants int    `json:"maxParticipants,omitempty"`
	EmptyTimeout    int    `json:"emptyTimeout,omitempty"` // seconds
	NumParticipants int    `json:"numParticipants"`
	CreatedAt       int64  `json:"createdAt,omitempty"`
}

// ICEServer is one STUN/TURN server offered to clients.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// ICECandidate is a trickled candidate in the browser's RTCIceCandidateInit shape.
type ICECandidate struct {
	Candidate        string  `json:"candidate"`
	SDPMid           *string `json:"sdpMid,omitempty"`
	SDPMLineIndex    *uint16 `json:"sdpMLineIndex,omitempty"`
	UsernameFragment *string `json:"usernameFragment,omitempty"`
}

// ---- both directions ----

// Offer carries an SDP offer for one of the two peer connections.
type Offer struct {
	ID     string `json:"id,omitempty"`
	Target string `json:"target"`
	SDP    string `json:"sdp"`
}

// Answer carries an SDP answer for one of the two peer connections.
type Answer struct {
	ID     string `json:"id,omitempty"`
	Target string `json:"target"`
	SDP    string `json:"sdp"`
}

// Candidate trickles one ICE candidate; a nil Candidate ends the candidates.
type Candidate struct {
	Target    string        `json:"target"`
	Candidate *ICECandidate `json:"candidate"`
}

// Leave: from a client, "I am leaving"; from the server, "you were removed" with a reason.
type Leave struct {
	Reason string `json:"reason,omitempty"`
	// Redirect is where to rejoin after server_shutdown (a draining cluster node names another
	// node's ws:// or wss:// URL); empty: anywhere.
	Redirect string `json:"redirect,omitempty"`
}

// ---- client → server ----

// Publish announces a track before the publisher offer that carries it.
type Publish struct {
	ID     string  `json:"id,omitempty"`
	CID    string  `json:"cid"`
	Kind   string  `json:"kind"`
	Source string  `json:"source"`
	Width  int     `json:"width,omitempty"`
	Height int     `json:"height,omitempty"`
	Layers []Layer `json:"layers,omitempty"`
}

// Unpublish removes a published track.
type Unpublish struct {
	ID       string `json:"id,omitempty"`
	TrackSid string `json:"trackSid"`
}

// Mute mutes or unmutes a published track.
type Mute struct {
	ID       string `json:"id,omitempty"`
	TrackSid string `json:"trackSid"`
	Muted    bool   `json:"muted"`
}

// Subscribe subscribes to or unsubscribes from tracks.
type Subscribe struct {
	ID        string   `json:"id,omitempty"`
	TrackSids []string `json:"trackSids"`
	Subscribe bool     `json:"subscribe"`
}

// TrackSettings says what a subscriber renders for one video.
type TrackSettings struct {
	ID       string `json:"id,omitempty"`
	TrackSid string `json:"trackSid"`
	Enabled  *bool  `json:"enabled,omitempty"` // nil means true
	Width    int    `json:"width,omitempty"`
	Height   int    `json:"height,omitempty"`
	Pinned   bool   `json:"pinned,omitempty"`
}

// UpdateMetadata changes the participant's name and/or metadata.
type UpdateMetadata struct {
	ID       string  `json:"id,omitempty"`
	Name     *string `json:"name,omitempty"`
	Metadata *string `json:"metadata,omitempty"`
}

// Ping keeps the session alive; the server answers Pong with the same ts.
type Ping struct {
	ID string `json:"id,omitempty"`
	TS int64  `json:"ts"`
}

// ICERestart asks the server for a subscriber offer that restarts ICE (new credentials, new
// candidates): the client's network changed or its subscriber connection went disconnected or
// failed. It goes through the server's one-offer-in-flight queue like any subscriber offer. The
// publisher connection the client restarts itself, with an ICE-restart offer.
type ICERestart struct {
	ID string `json:"id,omitempty"`
}

// ---- server → client ----

// Joined is the first message of every session. When the room's participants do not fit one
// frame, More is set and JoinedParticipants frames with the rest follow at once.
type Joined struct {
	Room          RoomInfo          `json:"room"`
	Participant   ParticipantInfo   `json:"participant"`
	Participants  []ParticipantInfo `json:"participants"`
	ICEServers    []ICEServer       `json:"iceServers"`
	ServerVersion string            `json:"serverVersion"`
	More          bool              `json:"more,omitempty"`
	// ResumeToken resumes this session on a new WebSocket within ResumeWindow seconds of
	// losing the old one (GET /rtc?resume=TOKEN&seq=LAST, docs/protocol.md "Resume").
	ResumeToken  string `json:"resumeToken,omitempty"`
	ResumeWindow int    `json:"resumeWindow,omitempty"`
}

// Resumed is the first message on a resumed session: the server then replays every message
// after the client's seq, and LastClientSeq is the last client frame (its cseq) it handled, so
// the client resends what came after.
type Resumed struct {
	LastClientSeq uint64 `json:"lastClientSeq"`
}

// JoinedParticipants continues the participant list of Joined; the last one has More false.
// Nothing else is sent between Joined and the last of these.
type JoinedParticipants struct {
	Participants []ParticipantInfo `json:"participants"`
	More         bool              `json:"more,omitempty"`
}

// ParticipantJoined announces a new visible participant.
type ParticipantJoined struct {
	Participant ParticipantInfo `json:"participant"`
}

// RoomUpdated announces a change of the room's metadata (by the server API).
type RoomUpdated struct {
	Room RoomInfo `json:"room"`
}

// ParticipantUpdated announces a change of name, metadata or track state.
type ParticipantUpdated struct {
	Participant ParticipantInfo `json:"participant"`
}

// ParticipantLeft announces that a participant left.
type ParticipantLeft struct {
	Sid string `json:"sid"`
}

// TrackPublished announces a new track of a participant.
type TrackPublished struct {
	ParticipantSid string    `json:"participantSid"`
	Track          TrackInfo `json:"track"`
}

// TrackUnpublished announces that a track was removed.
type TrackUnpublished struct {
	ParticipantSid string `json:"participantSid"`
	TrackSid       string `json:"trackSid"`
}

// TrackSubscribed is sent with the subscriber offer that adds the track.
type TrackSubscribed struct {
	ParticipantSid string `json:"participantSid"`
	TrackSid       string `json:"trackSid"`
	Mid            string `json:"mid"`
}

// StreamState tells a subscriber what it receives for a video and why.
type StreamState struct {
	TrackSid string  `json:"trackSid"`
	State    string  `json:"state"`
	Layer    *string `json:"layer"`
	Reason   string  `json:"reason,omitempty"`
}

// SpeakerInfo is one active speaker.
type SpeakerInfo struct {
	Sid   string  `json:"sid"`
	Level float64 `json:"level"`
}

// ActiveSpeakers is sent when the set of speakers or the dominant one changes.
type ActiveSpeakers struct {
	Speakers []SpeakerInfo `json:"speakers"`
	Dominant *string       `json:"dominant"`
}

// LayerState says whether a simulcast layer is needed by anyone.
type LayerState struct {
	RID    string `json:"rid"`
	Active bool   `json:"active"`
}

// SubscribedLayers tells a publisher which layers of a track are needed (dynacast).
type SubscribedLayers struct {
	TrackSid string       `json:"trackSid"`
	Layers   []LayerState `json:"layers"`
}

// QualityUpdate is the connection quality of one participant.
type QualityUpdate struct {
	Sid     string `json:"sid"`
	Quality string `json:"quality"`
}

// ConnectionQuality carries connection quality updates.
type ConnectionQuality struct {
	Updates []QualityUpdate `json:"updates"`
}

// Published is the reply to Publish.
type Published struct {
	ID    string    `json:"id,omitempty"`
	CID   string    `json:"cid"`
	Track TrackInfo `json:"track"`
}

// Error reports a failed request; it never closes the session unless Fatal says so.
type Error struct {
	ID      string `json:"id,omitempty"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Pong answers Ping.
type Pong struct {
	ID string `json:"id,omitempty"`
	TS int64  `json:"ts"`
}

func (*Offer) MessageType() string              { return "offer" }
func (*Answer) MessageType() string             { return "answer" }
func (*Candidate) MessageType() string          { return "candidate" }
func (*Leave) MessageType() string              { return "leave" }
func (*Publish) MessageType() string            { return "publish" }
func (*Unpublish) MessageType() string          { return "unpublish" }
func (*Mute) MessageType() string               { return "mute" }
func (*Subscribe) MessageType() string          { return "subscribe" }
func (*TrackSettings) MessageType() string      { return "trackSettings" }
func (*UpdateMetadata) MessageType() string     { return "updateMetadata" }
func (*Ping) MessageType() string               { return "ping" }
func (*ICERestart) MessageType() string         { return "iceRestart" }
func (*Joined) MessageType() string             { return "joined" }
func (*JoinedParticipants) MessageType() string { return "joinedParticipants" }
func (*ParticipantJoined) MessageType() string  { return "participantJoined" }
func (*ParticipantUpdated) MessageType() string { return "participantUpdated" }
func (*RoomUpdated) MessageType() string        { return "roomUpdated" }
func (*ParticipantLeft) MessageType() string    { return "participantLeft" }
func (*TrackPublished) MessageType() string     { return "trackPublished" }
func (*TrackUnpublished) MessageType() string   { return "trackUnpublished" }
func (*TrackSubscribed) MessageType() string    { return "trackSubscribed" }
func (*StreamState) MessageType() string        { return "streamState" }
func (*ActiveSpeakers) MessageType() string     { return "activeSpeakers" }
func (*SubscribedLayers) MessageType() string   { return "subscribedLayers" }
func (*ConnectionQuality) MessageType() string  { return "connectionQuality" }
func (*Published) MessageType() string          { return "published" }
func (*Error) MessageType() string              { return "error" }
func (*Pong) MessageType() string               { return "pong" }
func (*Resumed) MessageType() string            { return "resumed" }

// Error makes *Error usable as a Go error.
func (e *Error) Error() string { return e.Code + ": " + e.Message }
