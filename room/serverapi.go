package room

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room/peer"
)

// What a backend may change without joining (the server API): each change runs where the
// participant's own requests run, on its control queue, and everyone is told as if the
// participant had made it.

// SetMetadata replaces the room's metadata and tells every participant (roomUpdated).
func (r *Room) SetMetadata(metadata string) (protocol.RoomInfo, error) {
	if protocol.EncodedLen(metadata) > protocol.MaxMetadataLen {
		return protocol.RoomInfo{}, fmt.Errorf("%w: room metadata longer than %d bytes as JSON", ErrBadRequest, protocol.MaxMetadataLen)
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return protocol.RoomInfo{}, ErrNotFound
	}
	r.metadata, r.metadataAt = metadata, time.Now().UnixNano()
	r.clusterDirty.Store(true)
	info := r.infoLocked()
	msg := &protocol.RoomUpdated{Room: info}
	for _, p := range r.participants {
		p.Send(msg)
	}
	r.mu.Unlock()
	return info, nil
}

// SendData sends a text data message from the server ("from" empty) to the room's participants,
// or to those named in to, on the reliable channel or the lossy one.
func (r *Room) SendData(topic string, payload json.RawMessage, to []string, lossy bool) error {
	b, err := protocol.ServerData(topic, payload)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	label := peer.Reliable
	if lossy {
		label = peer.Lossy
	}
	for _, o := range r.others(nil) {
		if len(to) == 0 || slices.Contains(to, o.Identity()) {
			o.SendData(label, b, true)
		}
	}
	return nil
}
