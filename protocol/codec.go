package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// ErrTooLarge is returned for a frame over MaxMessageSize.
var ErrTooLarge = errors.New("protocol: message larger than 64 KiB")

// Limits on fields, so that a client cannot make the server hold arbitrary amounts of state.
const (
	MaxIDLen       = 128
	MaxNameLen     = 256
	MaxMetadataLen = 16 << 10
	MaxSDPLen      = 60 << 10
	MaxTrackSids   = 256
	MaxLayers      = 3
	MaxDimension   = 8192
)

var factories = map[string]func() Message{
	"offer":              func() Message { return new(Offer) },
	"answer":             func() Message { return new(Answer) },
	"candidate":          func() Message { return new(Candidate) },
	"leave":              func() Message { return new(Leave) },
	"publish":            func() Message { return new(Publish) },
	"unpublish":          func() Message { return new(Unpublish) },
	"mute":               func() Message { return new(Mute) },
	"subscribe":          func() Message { return new(Subscribe) },
	"trackSettings":      func() Message { return new(TrackSettings) },
	"updateMetadata":     func() Message { return new(UpdateMetadata) },
	"ping":               func() Message { return new(Ping) },
	"iceRestart":         func() Message { return new(ICERestart) },
	"joined":             func() Message { return new(Joined) },
	"joinedParticipants": func() Message { return new(JoinedParticipants) },
	"participantJoined":  func() Message { return new(ParticipantJoined) },
	"participantUpdated": func() Message { return new(ParticipantUpdated) },
	"roomUpdated":        func() Message { return new(RoomUpdated) },
	"participantLeft":    func() Message { return new(ParticipantLeft) },
	"trackPublished":     func() Message { return new(TrackPublished) },
	"trackUnpublished":   func() Message { return new(TrackUnpublished) },
	"trackSubscribed":    func() Message { return new(TrackSubscribed) },
	"streamState":        func() Message { return new(StreamState) },
	"activeSpeakers":     func() Message { return new(ActiveSpeakers) },
	"subscribedLayers":   func() Message { return new(SubscribedLayers) },
	"connectionQuality":  func() Message { return new(ConnectionQuality) },
	"published":          func() Message { return new(Published) },
	"error":              func() Message { return new(Error) },
	"pong":               func() Message { return new(Pong) },
	"resumed":            func() Message { return new(Resumed) },
}

// ClientTypes are the message types a client may send to the server.
var ClientTypes = map[string]bool{
	"offer": true, "answer": true, "candidate": true, "leave": true, "publish": true,
	"unpublish": true, "mute": true, "subscribe": true, "trackSettings": true,
	"updateMetadata": true, "ping": true, "iceRestart": true,
}

type envelope struct {
	Type string          `json:"type"`
	ID   json.RawMessage `json:"id"`
}

// Encode marshals a message with its "type" field first. A message over MaxMessageSize is an
// error (ErrTooLarge): neither side reads such a frame.
func Encode(m Message) ([]byte, error) {
	body, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	if len(body) < 2 || body[0] != '{' {
		return nil, fmt.Errorf("protocol: %T does not encode to an object", m)
	}
	var b bytes.Buffer
	b.Grow(len(body) + len(m.MessageType()) + 12)
	b.WriteString(`{"type":"`)
	b.WriteString(m.MessageType())
	b.WriteByte('"')
	if len(body) > 2 {
		b.WriteByte(',')
	}
	b.Write(body[1:])
	if b.Len() > MaxMessageSize { // the other side would not read it
		return nil, fmt.Errorf("%w: %s of %d bytes", ErrTooLarge, m.MessageType(), b.Len())
	}
	return b.Bytes(), nil
}

// Decode parses and validates one frame. On failure it returns an *Error (code bad_request) that
// carries the request id when one could be read, so the caller can reply with it as it is.
func Decode(data []byte) (Message, error) {
	if len(data) > MaxMessageSize {
		return nil, &Error{Code: CodeBadRequest, Message: ErrTooLarge.Error()}
	}
	if !utf8.Valid(data) {
		return nil, &Error{Code: CodeBadRequest, Message: "message is not valid UTF-8"}
	}
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, &Error{Code: CodeBadRequest, Message: "malformed JSON: " + err.Error()}
	}
	id := ""
	if len(env.ID) > 0 {
		// A non-string id is an error, but the reply can still echo nothing useful; ignore it.
		_ = json.Unmarshal(env.ID, &id)
		if len(id) > MaxIDLen {
			id = ""
		}
	}
	if env.Type == "" {
		return nil, &Error{ID: id, Code: CodeBadRequest, Message: `missing "type"`}
	}
	newMsg, ok := factories[env.Type]
	if !ok {
		return nil, &Error{ID: id, Code: CodeBadRequest, Message: fmt.Sprintf("unknown message type %q", truncate(env.Type, 40))}
	}
	m := newMsg()
	if err := json.Unmarshal(data, m); err != nil {
		return nil, &Error{ID: id, Code: CodeBadRequest, Message: fmt.Sprintf("bad %s: %v", env.Type, err)}
	}
	if err := Validate(m); err != nil {
		return nil, &Error{ID: id, Code: CodeBadRequest, Message: fmt.Sprintf("bad %s: %v", env.Type, err)}
	}
	return m, nil
}

// RequestID returns the "id" of a request message, or "".
func RequestID(m Message) string {
	switch m := m.(type) {
	case *Offer:
		return m.ID
	case *Answer:
		return m.ID
	case *Publish:
		return m.ID
	case *Unpublish:
		return m.ID
	case *Mute:
		return m.ID
	case *Subscribe:
		return m.ID
	case *TrackSettings:
		return m.ID
	case *UpdateMetadata:
		return m.ID
	case *Ping:
		return m.ID
	case *ICERestart:
		return m.ID
	}
	return ""
}

// Validate checks the fields of a client message against the contract and the limits.
func Validate(m Message) error {
	if len(RequestID(m)) > MaxIDLen {
		return fmt.Errorf(`"id" longer than %d bytes`, MaxIDLen)
	}
	switch m := m.(type) {
	case *Offer:
		return validateSDP(m.Target, m.SDP)
	case *Answer:
		return validateSDP(m.Target, m.SDP)
	case *Candidate:
		if err := validateTarget(m.Target); err != nil {
			return err
		}
		if m.Candidate != nil && len(m.Candidate.Candidate) > 1024 {
			return errors.New("candidate too long")
		}
	case *Publish:
		if m.CID == "" || len(m.CID) > MaxIDLen {
			return errors.New(`"cid" is required (at most 128 bytes)`)
		}
		switch m.Kind {
		case KindAudio:
			if m.Source != SourceMicrophone && m.Source != SourceScreenAudio {
				return fmt.Errorf("source %q is not an audio source", m.Source)
			}
		case KindVideo:
			if m.Source != SourceCamera && m.Source != SourceScreen {
				return fmt.Errorf("source %q is not a video source", m.Source)
			}
		default:
			return fmt.Errorf(`"kind" must be "audio" or "video", not %q`, truncate(m.Kind, 20))
		}
		if m.Width < 0 || m.Height < 0 || m.Width > MaxDimension || m.Height > MaxDimension {
			return errors.New("width/height out of range")
		}
		if len(m.Layers) > MaxLayers {
			return fmt.Errorf("at most %d layers", MaxLayers)
		}
		for _, l := range m.Layers {
			if l.RID == "" || len(l.RID) > 16 || l.Width < 0 || l.Height < 0 || l.Width > MaxDimension || l.Height > MaxDimension || l.MaxBitrate < 0 {
				return errors.New("bad layer")
			}
		}
	case *Unpublish:
		return requireSid(m.TrackSid)
	case *Mute:
		return requireSid(m.TrackSid)
	case *Subscribe:
		if len(m.TrackSids) == 0 || len(m.TrackSids) > MaxTrackSids {
			return fmt.Errorf(`"trackSids" must list 1 to %d tracks`, MaxTrackSids)
		}
		for _, s := range m.TrackSids {
			if err := requireSid(s); err != nil {
				return err
			}
		}
	case *TrackSettings:
		if err := requireSid(m.TrackSid); err != nil {
			return err
		}
		if m.Width < 0 || m.Height < 0 || m.Width > MaxDimension || m.Height > MaxDimension {
			return errors.New("width/height out of range")
		}
	case *UpdateMetadata:
		if m.Name != nil && len(*m.Name) > MaxNameLen {
			return fmt.Errorf("name longer than %d bytes", MaxNameLen)
		}
		if m.Metadata != nil && EncodedLen(*m.Metadata) > MaxMetadataLen {
			return fmt.Errorf("metadata longer than %d bytes as JSON", MaxMetadataLen)
		}
	}
	return nil
}

func validateTarget(t string) error {
	if t != TargetPublisher && t != TargetSubscriber {
		return fmt.Errorf(`"target" must be "publisher" or "subscriber", not %q`, truncate(t, 20))
	}
	return nil
}

func validateSDP(target, sdp string) error {
	if err := validateTarget(target); err != nil {
		return err
	}
	if sdp == "" {
		return errors.New(`"sdp" is required`)
	}
	if len(sdp) > MaxSDPLen {
		return errors.New("sdp too long")
	}
	return nil
}

func requireSid(s string) error {
	if s == "" || len(s) > MaxIDLen {
		return errors.New(`"trackSid" is required (at most 128 bytes)`)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Sequence numbers for resume (docs/protocol.md "Resume"): the server numbers the frames of a
// participant's session ("seq"), the client its own ("cseq"); each side reads the other's to
// know what to replay. A frame without one is not counted (0).

// StampSeq adds "name":n to an encoded frame, after its type.
func StampSeq(frame []byte, name string, n uint64) []byte {
	// Encode writes {"type":"x" first: the number goes right after it.
	end := bytes.IndexByte(frame[len(`{"type":"`):], '"')
	if !bytes.HasPrefix(frame, []byte(`{"type":"`)) || end < 0 {
		return frame
	}
	at := len(`{"type":"`) + end + 1
	out := make([]byte, 0, len(frame)+len(name)+24)
	out = append(out, frame[:at]...)
	out = append(out, `,"`...)
	out = append(out, name...)
	out = append(out, `":`...)
	out = strconv.AppendUint(out, n, 10)
	return append(out, frame[at:]...)
}

type seqs struct {
	Seq  uint64 `json:"seq"`
	CSeq uint64 `json:"cseq"`
}

// FrameSeqs reads a frame's "seq" and "cseq" (0 when absent or unreadable).
func FrameSeqs(frame []byte) (seq, cseq uint64) {
	var s seqs
	_ = json.Unmarshal(frame, &s)
	return s.Seq, s.CSeq
}
