package client

import (
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/client/internal/sigconn"
	"github.com/podium-sfu/podium/client/internal/trickle"
)

// peer is what the publisher and subscriber connections share: the connection, its trickle
// ICE in both directions (internal/trickle), and the session whose signalling it uses.
type peer struct {
	*trickle.Peer
	c   *Client
	sig *sigconn.Conn // the session's signalling: a late candidate never reaches the next
	pc  *webrtc.PeerConnection
}

// newPeer creates the connection; onConnected (may be nil) runs each time it connects.
func newPeer(c *Client, sig *sigconn.Conn, api *webrtc.API, cfg webrtc.Configuration, target string, onConnected func()) (*peer, error) {
	pc, err := api.NewPeerConnection(cfg)
	if err != nil {
		return nil, err
	}
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		c.log.Debug("peer connection state", "target", target, "state", s.String())
		if s == webrtc.PeerConnectionStateConnected && onConnected != nil {
			onConnected()
		}
		c.iceStateChanged(s)
	})
	return &peer{Peer: trickle.New(pc, target, sig.Send, c.log), c: c, sig: sig, pc: pc}, nil
}
