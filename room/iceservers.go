package room

import "github.com/podium-sfu/podium/protocol"

// ICEServers are the STUN and TURN servers one participant may use, with TURN credentials of
// its identity: what `joined` carries, for sessions over HTTP (WHIP and WHEP's Link headers).
func (m *Manager) ICEServers(identity string) []protocol.ICEServer {
	return m.cfg.iceServers(identity)
}
