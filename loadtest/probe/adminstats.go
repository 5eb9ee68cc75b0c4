package probe

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/podium-sfu/podium/auth"
)

// ServerCounters are the server's own counts over the window, from GET /api/admin/stats: what
// it received and forwarded, and the feedback its subscribers sent.
type ServerCounters struct {
	PacketsIn   uint64 `json:"packetsIn"`   // RTP packets from publishers
	PacketsOut  uint64 `json:"packetsOut"`  // RTP packets forwarded to subscribers, first sends
	Retransmits uint64 `json:"retransmits"` // packets re-sent in answer to NACKs
	NACKs       uint64 `json:"nacks"`       // sequence numbers the subscribers NACKed
	PLIs        uint64 `json:"plis"`        // keyframe requests from subscribers
}

// Minus is the counts since o.
func (c ServerCounters) Minus(o ServerCounters) ServerCounters {
	return ServerCounters{
		PacketsIn: c.PacketsIn - o.PacketsIn, PacketsOut: c.PacketsOut - o.PacketsOut,
		Retransmits: c.Retransmits - o.Retransmits, NACKs: c.NACKs - o.NACKs, PLIs: c.PLIs - o.PLIs,
	}
}

// AdminStats reads the server's counters with an admin token minted from the API key.
type AdminStats struct {
	url, token string
	hc         *http.Client
}

// NewAdminStats reads the stats of the server at base (its ws or http URL) with a token that
// apiKey and apiSecret mint.
func NewAdminStats(base, apiKey, apiSecret string) (*AdminStats, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/api/admin/stats"
	u.RawQuery = ""
	tok, err := auth.Mint(apiKey, apiSecret, auth.MintOptions{
		Identity: "podium-load", TTL: 6 * time.Hour, Grant: auth.Grant{RoomList: true, RoomAdmin: true},
	})
	if err != nil {
		return nil, err
	}
	return &AdminStats{url: u.String(), token: tok, hc: &http.Client{Timeout: 10 * time.Second}}, nil
}

// wire is the part of the admin stats body the load test reads.
type adminWire struct {
	Server *struct {
		PacketsIn  uint64 `json:"packetsIn"`
		PacketsOut uint64 `json:"packetsOut"`
	} `json:"server"`
	Rooms []struct {
		Participants []struct {
			Identity         string `json:"identity"`
			DownlinkEstimate *int   `json:"downlinkEstimate"`
			Subscriptions    []struct {
				NACKs       uint64 `json:"nacks"`
				Retransmits uint64 `json:"retransmits"`
				PLIs        uint64 `json:"plis"`
			} `json:"subscriptions"`
		} `json:"participants"`
	} `json:"rooms"`
}

// Sample reads the counters, and the server's bandwidth estimate towards each participant
// (bits/s, by identity; absent without one).
func (a *AdminStats) Sample(ctx context.Context) (ServerCounters, map[string]int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.url, nil)
	if err != nil {
		return ServerCounters{}, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := a.hc.Do(req)
	if err != nil {
		return ServerCounters{}, nil, fmt.Errorf("probe: admin stats: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return ServerCounters{}, nil, fmt.Errorf("probe: admin stats: HTTP %d", resp.StatusCode)
	}
	var w adminWire
	if err := json.NewDecoder(resp.Body).Decode(&w); err != nil {
		return ServerCounters{}, nil, fmt.Errorf("probe: admin stats: %w", err)
	}
	if w.Server == nil {
		return ServerCounters{}, nil, fmt.Errorf("probe: admin stats: no server figures for this token")
	}
	c := ServerCounters{PacketsIn: w.Server.PacketsIn, PacketsOut: w.Server.PacketsOut}
	estimates := map[string]int{}
	for _, r := range w.Rooms {
		for _, p := range r.Participants {
			if p.DownlinkEstimate != nil {
				estimates[p.Identity] = *p.DownlinkEstimate
			}
			for _, s := range p.Subscriptions {
				c.NACKs += s.NACKs
				c.Retransmits += s.Retransmits
				c.PLIs += s.PLIs
			}
		}
	}
	return c, estimates, nil
}
