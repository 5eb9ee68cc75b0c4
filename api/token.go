package api

import (
	"time"

	"github.com/podium-sfu/podium/auth"
)

// JoinOptions describe a participant's access token.
type JoinOptions struct {
	Room, Identity, Name, Metadata string
	TTL                            time.Duration // zero: auth.DefaultTTL
	// CanPublish, CanSubscribe and CanPublishData default to true; set NoPublish etc. to refuse.
	NoPublish, NoSubscribe, NoPublishData bool
	Sources                               []string // publishable sources; empty: all
	Hidden                                bool     // not listed to others (a recorder, an observer)
}

// JoinToken mints the token a participant joins o.Room with, signed with the client's key.
func (c *Client) JoinToken(o JoinOptions) (string, error) {
	return auth.Mint(c.key, c.secret, auth.MintOptions{
		Identity: o.Identity, Name: o.Name, Metadata: o.Metadata, TTL: o.TTL, Now: c.now,
		Grant: auth.Grant{Room: o.Room, RoomJoin: true, CanPublish: !o.NoPublish, CanSubscribe: !o.NoSubscribe,
			CanPublishData: !o.NoPublishData, CanPublishSources: o.Sources, Hidden: o.Hidden},
	})
}
