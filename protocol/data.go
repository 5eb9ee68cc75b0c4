package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// MaxDataMessage is the largest data message relayed.
const MaxDataMessage = 64 << 10

// dataMessage is a text data message on a data channel (docs/protocol.md).
type dataMessage struct {
	Topic   string          `json:"topic,omitempty"`
	To      []string        `json:"to,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
	From    string          `json:"from"`
}

// StampData turns a client's text data message into the one relayed: "from" set to the
// sender's identity, "to" taken out (and returned: the recipients). The relayed message stays
// within MaxDataMessage and a few bytes for "from".
func StampData(data []byte, from string) ([]byte, []string, error) {
	var dm dataMessage
	if err := json.Unmarshal(data, &dm); err != nil {
		return nil, nil, fmt.Errorf("data message is not a JSON object: %w", err)
	}
	to := dm.To
	dm.From, dm.To = from, nil
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // HTML escaping would grow a topic of '<' six times
	if err := enc.Encode(dm); err != nil {
		return nil, nil, fmt.Errorf("data message: %w", err)
	}
	out := bytes.TrimSuffix(b.Bytes(), []byte("\n"))
	if len(out) > MaxDataMessage+relayOverhead {
		return nil, nil, fmt.Errorf("data message over %d bytes once relayed", MaxDataMessage+relayOverhead)
	}
	return out, to, nil
}

// relayOverhead is what the relay may add to a text message: "from" and its identity.
const relayOverhead = 16 + 6*MaxIDLen

// ServerData is a text data message from the server ("from" empty) with topic and payload.
func ServerData(topic string, payload json.RawMessage) ([]byte, error) {
	if len(payload) == 0 || !json.Valid(payload) {
		return nil, errors.New("the payload must be a JSON value")
	}
	b, err := json.Marshal(dataMessage{Topic: topic, Payload: payload})
	if err != nil || len(b) > MaxDataMessage {
		return nil, fmt.Errorf("a data message is at most %d bytes", MaxDataMessage)
	}
	return b, nil
}
