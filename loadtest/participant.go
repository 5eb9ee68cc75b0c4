package loadtest

import (
	"cmp"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/client"
	"github.com/podium-sfu/podium/loadtest/layout"
	"github.com/podium-sfu/podium/loadtest/shaper"
	"github.com/podium-sfu/podium/protocol"
)

// Roles of simulated participants.
const (
	RolePublisher      = "publisher"       // camera + microphone, and receives everyone
	RoleAudioPublisher = "audio-publisher" // microphone only, and receives everyone
	RoleSubscriber     = "subscriber"      // receives only
)

// media is the pre-encoded media every publisher plays, shared read-only.
type media struct {
	q, h, f, opus []byte
}

// participant is one simulated participant: its session, what it publishes and what it receives.
type participant struct {
	room     *roomState
	cfg      *Config
	url      string // the node it joins through
	media    *media
	identity string
	role     string
	screen   bool         // shares a screen too
	link     *shaper.Link // its capped downlink; nil: none

	// Set by join, before the control loop starts; read-only afterwards.
	c              *client.Client
	sid            string
	joinStart      time.Time
	joinLatency    time.Duration
	publishLatency time.Duration
	mic            *client.LocalTrack
	published      []*client.LocalTrack
	err            error
	live           atomic.Pointer[client.Client] // c, for the progress line while others join

	wg sync.WaitGroup // the control loop and the track readers

	mu           sync.Mutex
	tracks       map[string]*trackRecv // by track sid, in the order of tiles
	tiles        []layout.Tile
	dominant     string // the dominant speaker the server last named
	domPending   string // a turn's speaker, awaited in activeSpeakers
	domPendingAt time.Time
	turnSpeaker  string                 // who the script has speaking now ("" before the first turn)
	sent         map[string]layout.Size // trackSettings last sent, by track sid
}

func (p *participant) publishes() bool { return p.role != RoleSubscriber }

// expectedTracks is how many tracks this participant should receive from its room.
func (p *participant) expectedTracks() int {
	n := 0
	for _, o := range p.room.participants {
		if o == p {
			continue
		}
		switch o.role {
		case RolePublisher:
			n += 2
			if o.screen {
				n++
			}
		case RoleAudioPublisher:
			n++
		}
	}
	return n
}

// join connects and publishes; the participant then runs until close.
func (p *participant) join(ctx context.Context) error {
	tok, err := auth.Mint(p.cfg.APIKey, p.cfg.APISecret, auth.MintOptions{
		Identity: p.identity, Name: p.identity, TTL: 6 * time.Hour,
		Grant: auth.Grant{
			Room: p.room.name, RoomJoin: true, CanPublish: p.publishes(), CanSubscribe: true,
		},
	})
	if err != nil {
		return err
	}
	p.joinStart = time.Now()
	c, err := client.Connect(ctx, cmp.Or(p.url, p.cfg.URL), tok, client.Options{
		Loopback: *p.cfg.Loopback, Logger: p.cfg.Logger.With("participant", p.identity),
		Net: p.clientNet(),
	})
	if err != nil {
		return fmt.Errorf("%s: join: %w", p.identity, err)
	}
	p.joinLatency = time.Since(p.joinStart)
	p.c, p.sid = c, c.Self().Sid
	p.live.Store(c)
	p.wg.Add(1)
	go p.control() // ends when the session ends (close)
	if !p.publishes() {
		return nil
	}
	start := time.Now()
	if err := p.publish(ctx); err != nil {
		return fmt.Errorf("%s: publish: %w", p.identity, err)
	}
	p.publishLatency = time.Since(start)
	return nil
}

func (p *participant) publish(ctx context.Context) error {
	mic, err := p.c.PublishOgg(ctx, p.media.opus, client.Microphone())
	if err != nil {
		return err
	}
	p.mic = mic
	p.published = append(p.published, mic)
	if p.role != RolePublisher {
		return nil
	}
	var cam *client.LocalTrack
	if p.cfg.Simulcast {
		cam, err = p.c.PublishSimulcastIVF(ctx, p.media.q, p.media.h, p.media.f, client.Camera())
	} else {
		cam, err = p.c.PublishIVF(ctx, p.media.f, client.Camera())
	}
	if err != nil {
		return err
	}
	p.published = append(p.published, cam)
	if p.screen {
		scr, err := p.c.PublishIVF(ctx, p.media.f, client.Screen())
		if err != nil {
			return err
		}
		p.published = append(p.published, scr)
	}
	return nil
}

// layoutDelay batches the trackSettings of tracks that arrive together.
const layoutDelay = 100 * time.Millisecond

// control is the participant's event loop: it reads what arrives, starts a reader per track,
// follows stream states and speakers, and sends trackSettings for its view.
func (p *participant) control() {
	defer p.wg.Done()
	events, tracks := p.c.Events(), p.c.Tracks()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	dirty := false
	for events != nil || tracks != nil {
		changed := false
		select {
		case m, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			changed = p.onEvent(m)
		case rt, ok := <-tracks:
			if !ok {
				tracks = nil
				continue
			}
			changed = p.onTrack(rt)
		case <-timer.C:
			dirty = false
			p.applyLayout()
		}
		if changed && !dirty {
			dirty = true
			timer.Reset(layoutDelay)
		}
	}
	timer.Stop()
}

// onTrack starts measuring a received track; it reports whether the layout changed.
func (p *participant) onTrack(rt *client.RemoteTrack) bool {
	t := newTrackRecv(trackIdentity{rt.ParticipantSid, rt.TrackSid, rt.Info}, &p.room.speakers, &p.room.freezes)
	p.mu.Lock()
	if p.tracks == nil {
		p.tracks = map[string]*trackRecv{}
	}
	p.tracks[rt.TrackSid] = t
	isVideo := rt.Info.Kind == protocol.KindVideo
	if isVideo {
		p.tiles = append(p.tiles, layout.Tile{TrackSid: rt.TrackSid, ParticipantSid: rt.ParticipantSid, Screen: rt.Info.Source == protocol.SourceScreen})
	}
	p.mu.Unlock()
	p.wg.Add(1)
	go func() { // one reader per received track; ends when the track or the session ends
		defer p.wg.Done()
		t.read(rt.Track)
	}()
	return isVideo
}

// onEvent applies one server message; it reports whether the layout changed.
func (p *participant) onEvent(m protocol.Message) bool {
	now := time.Now()
	switch m := m.(type) {
	case *protocol.StreamState:
		if t := p.track(m.TrackSid); t != nil {
			t.onStreamState(now, m)
		}
	case *protocol.ActiveSpeakers:
		p.room.speakers.sawSignal()
		if m.Dominant == nil {
			return false
		}
		p.mu.Lock()
		changed := p.dominant != *m.Dominant
		p.dominant = *m.Dominant
		// The stage went to someone the script has silent. The speaker's own view is not
		// told of its turn (speakingTurn goes to the others), so it does not judge itself.
		if changed && p.turnSpeaker != "" && *m.Dominant != p.turnSpeaker && *m.Dominant != p.sid {
			p.room.speakers.falseSwitch()
		}
		if p.domPending != "" && p.domPending == *m.Dominant {
			p.room.speakers.dominantAfter(now.Sub(p.domPendingAt))
			p.domPending = ""
		}
		p.mu.Unlock()
		return changed && p.cfg.View == ViewSpeaker
	case *protocol.TrackUnpublished:
		p.mu.Lock()
		delete(p.tracks, m.TrackSid)
		p.tiles = layout.Remove(p.tiles, m.TrackSid)
		p.mu.Unlock()
		return true
	}
	return false
}

func (p *participant) track(sid string) *trackRecv {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tracks[sid]
}

// applyLayout sends trackSettings for every video whose rendered size changed.
func (p *participant) applyLayout() {
	p.mu.Lock()
	want := layout.Sizes(p.cfg.View == ViewSpeaker, p.tiles, p.dominant)
	if p.sent == nil {
		p.sent = map[string]layout.Size{}
	}
	var send []protocol.TrackSettings
	for sid, sz := range want {
		if p.sent[sid] != sz {
			p.sent[sid] = sz
			send = append(send, protocol.TrackSettings{TrackSid: sid, Width: sz.W, Height: sz.H})
		}
	}
	p.mu.Unlock()
	for _, s := range send {
		_ = p.c.SetTrackSettings(s) // fails only once the session is over
	}
}

// speakingTurn is called when speaker begins a scripted turn at at.
func (p *participant) speakingTurn(speaker string, at time.Time) {
	p.mu.Lock()
	var cams []*trackRecv
	for _, t := range p.tracks {
		if t.publisherSid == speaker && t.speakers != nil {
			cams = append(cams, t)
		}
	}
	p.turnSpeaker = speaker
	if p.dominant != speaker {
		p.domPending, p.domPendingAt = speaker, at
	} else {
		p.domPending = ""
	}
	p.mu.Unlock()
	for _, t := range cams {
		t.speakingTurn(at)
	}
}

// setLevel sets the microphone's audio level (0 loudest … 127 silence).
func (p *participant) setLevel(level uint8) {
	if p.mic != nil {
		p.mic.SetAudioLevel(level)
	}
}

// connected reports whether a peer connection carries media: the publisher connection for
// those who publish, the subscriber connection for the others.
func (p *participant) connected() bool {
	c := p.live.Load()
	if c == nil {
		return false
	}
	pub, sub := c.PeerConnections()
	pc := sub
	if p.publishes() {
		pc = pub
	}
	return pc.ConnectionState() == webrtc.PeerConnectionStateConnected
}

// wireBytes are the bytes on the wire (SRTP, RTCP, STUN, DTLS) of both peer connections.
func (p *participant) wireBytes() (sent, received uint64) {
	c := p.live.Load()
	if c == nil {
		return 0, 0
	}
	pub, sub := c.PeerConnections()
	for _, pc := range []*webrtc.PeerConnection{pub, sub} {
		s := pc.SCTP().Transport().ICETransport().Stats()
		sent += s.BytesSent
		received += s.BytesReceived
	}
	return sent, received
}

// keyframeRestarts is how many keyframe requests this participant's published files obeyed.
func (p *participant) keyframeRestarts() int {
	n := 0
	for _, lt := range p.published {
		n += lt.Restarts()
	}
	return n
}

// snapshot returns the counters of every received track, by track sid.
func (p *participant) snapshot(now time.Time, final bool) map[string]trackSnapshot {
	p.mu.Lock()
	tracks := make([]*trackRecv, 0, len(p.tracks))
	for _, t := range p.tracks {
		tracks = append(tracks, t)
	}
	p.mu.Unlock()
	out := make(map[string]trackSnapshot, len(tracks))
	for _, t := range tracks {
		c, first := t.snapshot(now, final)
		out[t.trackSid] = trackSnapshot{kind: t.kind, source: t.source, first: first, trackCounters: c}
	}
	return out
}

// trackSnapshot is one track's counters with what kind of track it is.
type trackSnapshot struct {
	kind, source string
	first        time.Time // when its first packet arrived (zero: none yet)
	trackCounters
}

// close leaves the room and waits for the participant's goroutines.
func (p *participant) close() {
	if p.c == nil {
		return
	}
	_ = p.c.Close()
	p.wg.Wait()
}
