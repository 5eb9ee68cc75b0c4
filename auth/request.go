package auth

import (
	"net/http"
	"strings"

	"github.com/podium-sfu/podium/protocol"
)

// BearerToken is a request's access token: its Authorization header's bearer token, else its
// access_token query parameter (browsers cannot set headers on a WebSocket, some players on
// any request).
func BearerToken(r *http.Request) string {
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "Bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return r.URL.Query().Get("access_token")
}

// Permissions is what the grant lets its participant do, in the protocol's terms.
func (g Grant) Permissions() protocol.Permissions {
	return protocol.Permissions{
		CanPublish: g.CanPublish, CanSubscribe: g.CanSubscribe, CanPublishData: g.CanPublishData,
		CanPublishSources: g.CanPublishSources, Hidden: g.Hidden, RoomAdmin: g.RoomAdmin,
	}
}
