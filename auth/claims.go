package auth

import (
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Grant is what a token allows its bearer to do.
type Grant struct {
	Room           string
	RoomJoin       bool
	CanPublish     bool
	CanSubscribe   bool
	CanPublishData bool
	// CanPublishSources limits publishing to these sources ("camera",
	// "microphone", "screen", "screen_audio"); empty means no limit.
	CanPublishSources []string
	Hidden            bool
	RoomAdmin         bool
	RoomList          bool
	RoomCreate        bool
}

// CanPublishSource reports whether the grant allows publishing a track
// from source.
func (g Grant) CanPublishSource(source string) bool {
	if !g.CanPublish {
		return false
	}
	return len(g.CanPublishSources) == 0 || slices.Contains(g.CanPublishSources, source)
}

// Claims is a verified token.
type Claims struct {
	APIKey    string
	Identity  string
	Name      string
	Metadata  string
	Grant     Grant
	ExpiresAt time.Time
	NotBefore time.Time // zero if the token has no nbf
	IssuedAt  time.Time // zero if the token has no iat
}

// wireClaims is the JWT payload as it travels.
type wireClaims struct {
	jwt.RegisteredClaims
	Name     string     `json:"name,omitempty"`
	Metadata string     `json:"metadata,omitempty"`
	Grant    *wireGrant `json:"grant,omitempty"`
}

// wireGrant uses pointers for the permissions that default to true, so an
// absent field can be told apart from an explicit false.
type wireGrant struct {
	Room              string   `json:"room,omitempty"`
	RoomJoin          bool     `json:"roomJoin,omitempty"`
	CanPublish        *bool    `json:"canPublish,omitempty"`
	CanSubscribe      *bool    `json:"canSubscribe,omitempty"`
	CanPublishData    *bool    `json:"canPublishData,omitempty"`
	CanPublishSources []string `json:"canPublishSources,omitempty"`
	Hidden            bool     `json:"hidden,omitempty"`
	RoomAdmin         bool     `json:"roomAdmin,omitempty"`
	RoomList          bool     `json:"roomList,omitempty"`
	RoomCreate        bool     `json:"roomCreate,omitempty"`
}

// toWire writes every default-true permission explicitly so that a false
// survives the trip.
func (g Grant) toWire() *wireGrant {
	return &wireGrant{
		Room:              g.Room,
		RoomJoin:          g.RoomJoin,
		CanPublish:        &g.CanPublish,
		CanSubscribe:      &g.CanSubscribe,
		CanPublishData:    &g.CanPublishData,
		CanPublishSources: slices.Clone(g.CanPublishSources),
		Hidden:            g.Hidden,
		RoomAdmin:         g.RoomAdmin,
		RoomList:          g.RoomList,
		RoomCreate:        g.RoomCreate,
	}
}

// resolve applies the protocol defaults; a nil grant gets all of them.
func (w *wireGrant) resolve() Grant {
	if w == nil {
		w = &wireGrant{}
	}
	return Grant{
		Room:              w.Room,
		RoomJoin:          w.RoomJoin,
		CanPublish:        orTrue(w.CanPublish),
		CanSubscribe:      orTrue(w.CanSubscribe),
		CanPublishData:    orTrue(w.CanPublishData),
		CanPublishSources: w.CanPublishSources,
		Hidden:            w.Hidden,
		RoomAdmin:         w.RoomAdmin,
		RoomList:          w.RoomList,
		RoomCreate:        w.RoomCreate,
	}
}

func orTrue(b *bool) bool { return b == nil || *b }

func timeOf(d *jwt.NumericDate) time.Time {
	if d == nil {
		return time.Time{}
	}
	return d.Time
}
