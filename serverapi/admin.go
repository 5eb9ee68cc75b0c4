package serverapi

import (
	"cmp"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room/stats"
)

// The admin dashboard's data: GET /api/admin/stats returns every room the token may see, its
// participants, their tracks and what the server forwards to each of them, with rates computed
// between two calls, and the server's own CPU, memory and packet rates. GET /admin serves the page.

// statsQueueTimeout bounds how long one participant's control queue may keep a stats call.
const statsQueueTimeout = 200 * time.Millisecond

// AdminStats is the body of GET /api/admin/stats.
type AdminStats struct {
	TS     int64        `json:"ts"` // unix milliseconds
	Server *ServerStats `json:"server"`
	Rooms  []AdminRoom  `json:"rooms"`
}

// ServerStats describes this node. CPU and memory come from /proc and are absent elsewhere.
type ServerStats struct {
	UptimeSeconds    float64  `json:"uptimeSeconds"`
	NumCPU           int      `json:"numCpu"`
	Goroutines       int      `json:"goroutines"`
	CPUSeconds       *float64 `json:"cpuSeconds"`
	CPUPercent       *float64 `json:"cpuPercent"` // of one core, over the last interval
	RSSBytes         *int64   `json:"rssBytes"`
	Rooms            int      `json:"rooms"`
	Participants     int      `json:"participants"`
	PacketsIn        uint64   `json:"packetsIn"`
	PacketsOut       uint64   `json:"packetsOut"`
	PacketsInPerSec  float64  `json:"packetsInPerSec"`
	PacketsOutPerSec float64  `json:"packetsOutPerSec"`
	BitrateIn        float64  `json:"bitrateIn"` // bits/s
	BitrateOut       float64  `json:"bitrateOut"`
}

// AdminRoom is one room.
type AdminRoom struct {
	protocol.RoomInfo
	// DominantSpeaker is the sid of the room's dominant speaker; null before anyone spoke.
	DominantSpeaker *string            `json:"dominantSpeaker"`
	Participants    []AdminParticipant `json:"participants"`
}

// AdminParticipant is one participant with what it sends and receives.
type AdminParticipant struct {
	Sid             string `json:"sid"`
	Identity        string `json:"identity"`
	Name            string `json:"name"`
	Metadata        string `json:"metadata,omitempty"`
	JoinedAt        int64  `json:"joinedAt"`
	Hidden          bool   `json:"hidden"`
	PublisherState  string `json:"publisherState"`
	SubscriberState string `json:"subscriberState"`
	Partial         bool   `json:"partial,omitempty"`
	// Quality is the last connection quality sent for the participant, null before any.
	Quality *string `json:"quality"`
	// DownlinkEstimate is the server's bandwidth estimate towards the participant (bits/s), null
	// without one (estimation off and no REMB).
	DownlinkEstimate *int                `json:"downlinkEstimate"`
	Tracks           []AdminTrack        `json:"tracks"`
	Subscriptions    []AdminSubscription `json:"subscriptions"`
}

// AdminTrack is one published track and what arrives of it.
type AdminTrack struct {
	protocol.TrackInfo
	Packets   uint64 `json:"packets"`
	Bytes     uint64 `json:"bytes"`
	Keyframes uint64 `json:"keyframes"`
	// DirectPackets were decrypted and forwarded by Podium's own read path (the rest by pion's:
	// a simulcast layer's first packets, ICE-TCP, a relay).
	DirectPackets uint64  `json:"directPackets"`
	Bitrate       float64 `json:"bitrate"`
	PacketRate    float64 `json:"packetRate"`
	AudioLevel    *int    `json:"audioLevel,omitempty"` // RFC 6464, audio only
	Subscribers   int     `json:"subscribers"`
	// Received are the layers arriving (one, with an empty rid, without simulcast); the
	// announced ones are in layers.
	Received []AdminLayer `json:"received"`
}

// AdminLayer is what arrives of one layer of a published track.
type AdminLayer struct {
	RID     string `json:"rid"`
	Active  bool   `json:"active"`
	Bitrate uint64 `json:"bitrate"`
	FPS     uint32 `json:"fps"`
	Width   int    `json:"width,omitempty"`
	Height  int    `json:"height,omitempty"`
}

// AdminSubscription is one track forwarded to the participant.
type AdminSubscription struct {
	TrackSid          string `json:"trackSid"`
	PublisherSid      string `json:"publisherSid"`
	PublisherIdentity string `json:"publisherIdentity"`
	Kind              string `json:"kind"`
	Source            string `json:"source"`
	// Layer is the simulcast layer forwarded ("q", "h", "f"); null for audio, a video without
	// simulcast, or a paused one.
	Layer        *string `json:"layer"`
	Paused       bool    `json:"paused,omitempty"`
	FractionLost float64 `json:"fractionLost"` // from the subscriber's receiver reports
	RTTMillis    float64 `json:"rttMs"`
	Packets      uint64  `json:"packets"`
	Bytes        uint64  `json:"bytes"`
	Bitrate      float64 `json:"bitrate"`
	PacketRate   float64 `json:"packetRate"`
	NACKs        uint64  `json:"nacks"`
	Retransmits  uint64  `json:"retransmits"`
	PLIs         uint64  `json:"plis"`
	// DirectPackets were encrypted and sent by Podium's own write path (the rest went through
	// pion's: ICE-TCP, a relay, or before the connection was ready). DirectRTCP counts the
	// subscriber's RTCP packets for the track that Podium's read path decrypted and handled.
	DirectPackets uint64                  `json:"directPackets"`
	DirectRTCP    uint64                  `json:"directRtcp"`
	Settings      *protocol.TrackSettings `json:"settings"`
}

// adminStatsRoute is GET /api/admin/stats, with the rate book its rates are computed from.
func (s *API) adminStatsRoute() func(http.ResponseWriter, *http.Request, *auth.Claims) {
	rates := newRateBook()
	started := time.Now()
	return func(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
		s.adminStats(w, c, rates, started)
	}
}

func (s *API) adminStats(w http.ResponseWriter, c *auth.Claims, rates *rateBook, started time.Time) {
	if !c.Grant.RoomList && !c.Grant.RoomAdmin {
		forbidden(w, "roomAdmin or roomList")
		return
	}
	now := time.Now()
	out := AdminStats{TS: now.UnixMilli(), Rooms: []AdminRoom{}}
	var in, fwd counter
	for _, info := range s.rooms.Rooms() {
		rm := s.rooms.Room(info.Name)
		if rm == nil {
			continue // closed meanwhile
		}
		all := rm.ParticipantStats(statsQueueTimeout)
		for _, ps := range all {
			for _, t := range ps.Tracks {
				in.add(t.Packets, t.Bytes)
			}
			for _, sub := range ps.Subscriptions {
				fwd.add(sub.Packets, sub.Bytes)
			}
		}
		if !c.Grant.RoomList && !adminOf(c, info.Name) {
			continue
		}
		ar := AdminRoom{RoomInfo: info, Participants: make([]AdminParticipant, 0, len(all))}
		if d := rm.DominantSpeaker(); d != "" {
			ar.DominantSpeaker = &d
		}
		for _, ps := range all {
			ar.Participants = append(ar.Participants, adminParticipant(ps, rates, now))
		}
		out.Rooms = append(out.Rooms, ar)
	}
	// Server-wide numbers only for a token that sees every room.
	if c.Grant.RoomList || (c.Grant.RoomAdmin && c.Grant.Room == "") {
		out.Server = serverStats(s, rates, now, started, in, fwd)
	}
	rates.sweep(now)
	writeJSON(w, http.StatusOK, out)
}

func adminParticipant(ps stats.Participant, rates *rateBook, now time.Time) AdminParticipant {
	ap := AdminParticipant{
		Sid: ps.Info.Sid, Identity: ps.Info.Identity, Name: ps.Info.Name, Metadata: ps.Info.Metadata,
		JoinedAt: ps.Info.JoinedAt, Hidden: ps.Hidden, PublisherState: ps.PublisherState,
		SubscriberState: ps.SubscriberState, Partial: ps.Partial,
		Tracks: make([]AdminTrack, 0, len(ps.Tracks)), Subscriptions: make([]AdminSubscription, 0, len(ps.Subscriptions)),
	}
	if ps.Quality != "" {
		q := ps.Quality
		ap.Quality = &q
	}
	if e := ps.DownlinkEstimate; e >= 0 {
		ap.DownlinkEstimate = &e
	}
	for _, t := range ps.Tracks {
		bytes, pkts := rates.rate("t/"+t.Info.Sid, now, t.Bytes, t.Packets)
		at := AdminTrack{TrackInfo: t.Info, Packets: t.Packets, Bytes: t.Bytes, Keyframes: t.Keyframes,
			DirectPackets: t.DirectPackets, Bitrate: bytes * 8, PacketRate: pkts, Subscribers: t.Subscribers}
		if t.Info.Kind == protocol.KindAudio {
			level := int(t.AudioLevel)
			at.AudioLevel = &level
		}
		at.Received = make([]AdminLayer, 0, len(t.Layers))
		for _, l := range t.Layers {
			at.Received = append(at.Received, AdminLayer{RID: l.RID, Active: l.Active, Bitrate: l.Bitrate, FPS: l.FPS, Width: l.Width, Height: l.Height})
		}
		ap.Tracks = append(ap.Tracks, at)
	}
	for _, sub := range ps.Subscriptions {
		bytes, pkts := rates.rate("s/"+ps.Info.Sid+"/"+sub.TrackSid, now, sub.Bytes, sub.Packets)
		as := AdminSubscription{
			TrackSid: sub.TrackSid, PublisherSid: sub.PublisherSid, PublisherIdentity: sub.PublisherIdentity,
			Kind: sub.Kind, Source: sub.Source, Packets: sub.Packets, Bytes: sub.Bytes, Bitrate: bytes * 8,
			PacketRate: pkts, NACKs: sub.NACKs, Retransmits: sub.Retransmits, PLIs: sub.PLIs, Settings: sub.Settings, DirectPackets: sub.DirectPackets, DirectRTCP: sub.DirectRTCP,
			Paused: sub.Paused, FractionLost: sub.FractionLost, RTTMillis: float64(sub.RTT.Microseconds()) / 1000,
		}
		if sub.Layer != "" {
			layer := sub.Layer
			as.Layer = &layer
		}
		ap.Subscriptions = append(ap.Subscriptions, as)
	}
	slices.SortFunc(ap.Subscriptions, func(a, b AdminSubscription) int {
		return cmp.Or(cmp.Compare(a.PublisherIdentity, b.PublisherIdentity), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.TrackSid, b.TrackSid))
	})
	return ap
}

func serverStats(s *API, rates *rateBook, now, started time.Time, in, fwd counter) *ServerStats {
	ss := &ServerStats{
		UptimeSeconds: now.Sub(started).Seconds(), NumCPU: runtime.NumCPU(),
		Goroutines: runtime.NumGoroutine(), Rooms: len(s.rooms.Rooms()), Participants: s.rooms.ParticipantCount(),
		PacketsIn: in.packets, PacketsOut: fwd.packets,
	}
	inBytes, inPkts := rates.rate("server/in", now, in.bytes, in.packets)
	outBytes, outPkts := rates.rate("server/out", now, fwd.bytes, fwd.packets)
	ss.BitrateIn, ss.PacketsInPerSec = inBytes*8, inPkts
	ss.BitrateOut, ss.PacketsOutPerSec = outBytes*8, outPkts
	if cpu, ok := processCPUSeconds(); ok {
		ss.CPUSeconds = &cpu
		msPerSec, _ := rates.rate("server/cpu", now, uint64(cpu*1000), 0)
		pct := msPerSec / 1000 * 100
		ss.CPUPercent = &pct
	}
	if rss, ok := processRSS(); ok {
		ss.RSSBytes = &rss
	}
	return ss
}

type counter struct{ packets, bytes uint64 }

func (c *counter) add(packets, bytes uint64) {
	c.packets += packets
	c.bytes += bytes
}

// rateBook turns cumulative counters into rates between calls. Each key keeps a base sample at
// least minRateWindow old, so that several dashboards polling at once still see steady rates.
type rateBook struct {
	mu   sync.Mutex
	keys map[string]*rateEntry
}

type rateEntry struct {
	at, seen time.Time
	a, b     uint64  // the counters at the base sample
	ra, rb   float64 // their rates per second
}

const (
	minRateWindow = 700 * time.Millisecond
	rateKeyTTL    = time.Minute
)

func newRateBook() *rateBook { return &rateBook{keys: map[string]*rateEntry{}} }

// rate returns the per-second rates of two counters of key since its base sample (0 for a new
// key or a counter that went back).
func (b *rateBook) rate(key string, now time.Time, x, y uint64) (float64, float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.keys[key]
	if e == nil || x < e.a || y < e.b {
		b.keys[key] = &rateEntry{at: now, seen: now, a: x, b: y}
		return 0, 0
	}
	e.seen = now
	if dt := now.Sub(e.at); dt >= minRateWindow {
		e.ra = float64(x-e.a) / dt.Seconds()
		e.rb = float64(y-e.b) / dt.Seconds()
		e.at, e.a, e.b = now, x, y
	}
	return e.ra, e.rb
}

// sweep forgets keys not asked for in a while (tracks that are gone).
func (b *rateBook) sweep(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k, e := range b.keys {
		if now.Sub(e.seen) > rateKeyTTL {
			delete(b.keys, k)
		}
	}
}

// processCPUSeconds reads user+system CPU time from /proc/self/stat (Linux).
func processCPUSeconds() (float64, bool) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, false
	}
	// The command name (field 2) may hold spaces; fields after its closing parenthesis are fixed.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	const userHZ = 100 // USER_HZ is 100 on every Linux architecture Go supports
	return float64(utime+stime) / userHZ, true
}

// processRSS reads the resident set size from /proc/self/statm (Linux).
func processRSS() (int64, bool) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, false
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0, false
	}
	return pages * int64(os.Getpagesize()), true
}
