package server

import (
	"fmt"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/room"
	"github.com/podium-sfu/podium/webhook"
)

// Webhooks say where a node posts what happens in its rooms (package webhook).
type Webhooks struct {
	URLs []string // none: no webhooks
	// Key is the API key whose secret signs the deliveries; empty: the first key in order.
	Key string
}

// webhookGrace is how long a stopping node keeps delivering the events still queued.
const webhookGrace = 2 * time.Second

// startWebhooks starts the delivery of room events; without URLs it returns a notifier that
// drops them.
func startWebhooks(cfg Config, keys auth.KeyProvider, reg prometheus.Registerer) (*webhook.Notifier, error) {
	key := cfg.Webhooks.Key
	if key == "" && len(keys) > 0 {
		names := make([]string, 0, len(keys))
		for k := range keys {
			names = append(names, k)
		}
		key = slices.Min(names)
	}
	if _, ok := keys[key]; !ok && len(cfg.Webhooks.URLs) > 0 {
		return nil, fmt.Errorf("webhooks: no API key %q to sign them with", key)
	}
	return webhook.New(webhook.Config{URLs: cfg.Webhooks.URLs, APIKey: key, Secret: keys[key],
		Logger: cfg.Logger.With("component", "webhook"), Registry: reg})
}

// webhookEvent is a room event as a backend receives it.
func webhookEvent(e room.Event) webhook.Event {
	room := e.Room
	return webhook.Event{Event: e.Kind, Room: &room, Participant: e.Participant, Track: e.Track, Reason: e.Reason}
}
