package loadtest

import (
	"strconv"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/loadtest/report"
	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/sfu/codec"
)

// seqWindow is how far back (in packets) late and repeated packets are recognised.
const seqWindow = 1024

// trackCounters are the cumulative counts of one received track.
type trackCounters struct {
	Packets, Bytes uint64
	PaddingBytes   uint64 // of packets that are padding alone: bandwidth probes, not media
	Unique, Expect uint64 // distinct sequence numbers received, and the span they cover
	Duplicates     uint64 // packets whose sequence number had already arrived
	Late           uint64 // packets that filled a gap (reordered or retransmitted)
	Frames         uint64 // complete video frames (marker bit)
	FramesByLayer  map[string]uint64
	Keyframes      uint64
	Freezes        uint64
	FreezeTime     time.Duration
	PausedTime     time.Duration // while the server said it forwards nothing (streamState)
	Pauses         uint64        // streamState changes from active to paused, and back
	Resumes        uint64
}

func (c trackCounters) lost() uint64 {
	if c.Expect > c.Unique {
		return c.Expect - c.Unique
	}
	return 0
}

// trackRecv measures one track as one subscriber receives it. Its reader goroutine updates it
// per packet; the subscriber's event loop reports stream states; snapshots read it.
type trackRecv struct {
	publisherSid string
	trackSid     string
	kind, source string
	layerNames   map[int]string // keyframe width → layer name
	topLayer     string
	speakers     *speakerStats // where switch latencies go; nil for non-camera tracks
	freezes      *freezeLog    // nil: not logged

	mu       sync.Mutex
	c        trackCounters
	first    time.Time // arrival of the first packet
	started  bool
	base     int64 // extended sequence number of the first packet
	highest  int64
	seen     [seqWindow / 64]uint64
	layer    string    // layer of the frames arriving now, from the last keyframe
	lastDone time.Time // when the last complete frame arrived
	paused   bool      // the server says it forwards nothing
	pausedAt time.Time // the last time it said so
	pauseRun time.Time // when the current pause began (zero: not paused)
	pending  time.Time // a speaking turn began and the top layer is awaited (zero: none)
}

func newTrackRecv(rt trackIdentity, speakers *speakerStats, freezes *freezeLog) *trackRecv {
	t := &trackRecv{
		publisherSid: rt.ParticipantSid, trackSid: rt.TrackSid, kind: rt.Info.Kind, source: rt.Info.Source,
		layerNames: layerNames(rt.Info.Layers), freezes: freezes,
	}
	t.c.FramesByLayer = map[string]uint64{}
	top := 0
	for w, name := range t.layerNames {
		if w > top {
			top, t.topLayer = w, name
		}
	}
	if t.kind == protocol.KindVideo && t.source != protocol.SourceScreen {
		t.speakers = speakers
	}
	return t
}

// trackIdentity is what a received track says about itself (client.RemoteTrack's fields).
type trackIdentity struct {
	ParticipantSid, TrackSid string
	Info                     protocol.TrackInfo
}

// layerNames maps keyframe widths to rids: the announced layers, else the q/h/f convention of
// the fixtures (320, 640, 1280).
func layerNames(announced []protocol.Layer) map[int]string {
	m := map[int]string{}
	for _, l := range announced {
		if l.Width > 0 && l.RID != "" {
			m[l.Width] = l.RID
		}
	}
	if len(m) == 0 {
		m = map[int]string{320: "q", 640: "h", 1280: "f"}
	}
	return m
}

func (t *trackRecv) nameOf(width int) string {
	if n, ok := t.layerNames[width]; ok {
		return n
	}
	return "w" + strconv.Itoa(width)
}

// read consumes the track until it ends. The buffer and header are reused: no allocation per
// packet, so that the load generator spends its CPU on sending and receiving, not on garbage.
func (t *trackRecv) read(tr *webrtc.TrackRemote) {
	buf := make([]byte, 1600)
	var h rtp.Header
	isVP8 := tr.Codec().MimeType == webrtc.MimeTypeVP8
	for {
		n, _, err := tr.Read(buf)
		if err != nil {
			return // the track or the connection ended
		}
		hl, err := h.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		payload := buf[hl:n]
		if h.Padding && len(payload) > 0 {
			payload = payload[:max(0, len(payload)-int(payload[len(payload)-1]))]
		}
		if len(payload) == 0 { // a bandwidth probe's padding: numbered, but no media
			t.onPadding(h.SequenceNumber, n)
			continue
		}
		width := 0
		if isVP8 {
			if w, _, ok := codec.VP8KeyframeSize(payload); ok {
				width = w
			}
		}
		t.onPacket(time.Now(), h.SequenceNumber, h.Marker, n, width)
	}
}

// onPadding accounts a padding-only packet: it takes a sequence number (loss accounting must
// see it) and bytes, but it is not media: a video paused before its first frame gets probes,
// and its first packet must not count as the media arriving.
func (t *trackRecv) onPadding(seq uint16, size int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.c.Packets++
	t.c.Bytes += uint64(size)
	t.c.PaddingBytes += uint64(size)
	t.account(seq)
}

// onPacket accounts one packet; keyWidth is the width of a VP8 keyframe starting here, else 0.
func (t *trackRecv) onPacket(now time.Time, seq uint16, marker bool, size, keyWidth int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.first.IsZero() {
		t.first = now
	}
	t.c.Packets++
	t.c.Bytes += uint64(size)
	t.account(seq)
	if t.kind != protocol.KindVideo {
		return
	}
	if keyWidth > 0 {
		t.c.Keyframes++
		t.layer = t.nameOf(keyWidth)
		if t.layer == t.topLayer {
			t.reachedTopLocked(now)
		}
	}
	if !marker {
		return
	}
	if !t.lastDone.IsZero() {
		t.closeGapLocked(now)
	}
	t.lastDone = now
	t.c.Frames++
	if t.layer != "" {
		t.c.FramesByLayer[t.layer]++
	}
}

// closeGapLocked counts a freeze if no frame completed for longer than the threshold while the
// server did not say the video was paused.
func (t *trackRecv) closeGapLocked(now time.Time) {
	gap := now.Sub(t.lastDone)
	if gap <= report.FreezeThreshold || t.paused || t.pausedAt.After(t.lastDone) {
		return
	}
	t.c.Freezes++
	t.c.FreezeTime += gap
	if t.freezes != nil {
		t.freezes.add(freezeEvent{publisher: t.publisherSid, start: t.lastDone, end: now})
	}
}

// account tracks the sequence numbers: distinct, repeated, late, and the span covered.
func (t *trackRecv) account(seq uint16) {
	if !t.started {
		t.started = true
		t.base, t.highest = int64(seq), int64(seq)
		t.mark(t.highest)
		t.c.Unique, t.c.Expect = 1, 1
		return
	}
	ext := t.highest + int64(int16(seq-uint16(t.highest)))
	switch {
	case ext > t.highest:
		if ext-t.highest >= seqWindow {
			clear(t.seen[:])
		} else {
			for s := t.highest + 1; s < ext; s++ {
				t.unmark(s)
			}
		}
		t.highest = ext
		t.mark(ext)
		t.c.Unique++
	case t.highest-ext >= seqWindow:
		t.c.Duplicates++ // too old to tell: count it as repeated, not as new
	case ext < t.base:
		t.base = ext
		t.mark(ext)
		t.c.Unique++
		t.c.Late++
	case t.marked(ext):
		t.c.Duplicates++
	default:
		t.mark(ext)
		t.c.Unique++
		t.c.Late++
	}
	t.c.Expect = uint64(t.highest - t.base + 1)
}

func (t *trackRecv) mark(s int64)        { t.seen[(s%seqWindow)/64] |= 1 << (s % 64) }
func (t *trackRecv) unmark(s int64)      { t.seen[(s%seqWindow)/64] &^= 1 << (s % 64) }
func (t *trackRecv) marked(s int64) bool { return t.seen[(s%seqWindow)/64]&(1<<(s%64)) != 0 }

// onStreamState applies the server's streamState for this track.
func (t *trackRecv) onStreamState(now time.Time, m *protocol.StreamState) {
	t.mu.Lock()
	defer t.mu.Unlock()
	was := t.paused
	t.paused = m.State != "active"
	switch {
	case t.paused && !was:
		t.c.Pauses++
	case was && !t.paused:
		t.c.Resumes++
	}
	if t.paused {
		t.pausedAt = now
		if t.pauseRun.IsZero() {
			t.pauseRun = now
		}
		return
	}
	if !t.pauseRun.IsZero() {
		t.c.PausedTime += now.Sub(t.pauseRun)
		t.pauseRun = time.Time{}
	}
	if m.Layer != nil && *m.Layer == t.topLayer {
		t.reachedTopLocked(now)
	}
}

// speakingTurn starts waiting for the top layer, unless it is already what arrives. It reports
// whether a switch is awaited.
func (t *trackRecv) speakingTurn(at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.speakers == nil {
		return
	}
	if !t.pending.IsZero() {
		t.speakers.missedTop()
	}
	t.pending = time.Time{}
	if t.layer == t.topLayer && !t.paused {
		t.speakers.alreadyTop()
		return
	}
	t.pending = at
}

func (t *trackRecv) reachedTopLocked(now time.Time) {
	if t.pending.IsZero() || t.speakers == nil {
		return
	}
	t.speakers.topLayerAfter(now.Sub(t.pending))
	t.pending = time.Time{}
}

// snapshot returns the counters; at the end of a run it also counts a freeze still going on.
func (t *trackRecv) snapshot(now time.Time, final bool) (trackCounters, time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.c
	c.FramesByLayer = make(map[string]uint64, len(t.c.FramesByLayer))
	for k, v := range t.c.FramesByLayer {
		c.FramesByLayer[k] = v
	}
	if !t.pauseRun.IsZero() && now.After(t.pauseRun) {
		c.PausedTime += now.Sub(t.pauseRun) // the pause so far
	}
	if final && t.kind == protocol.KindVideo && !t.lastDone.IsZero() && !t.paused &&
		now.Sub(t.lastDone) > report.FreezeThreshold && !t.pausedAt.After(t.lastDone) {
		c.Freezes++
		c.FreezeTime += now.Sub(t.lastDone)
		if t.freezes != nil {
			t.freezes.add(freezeEvent{publisher: t.publisherSid, start: t.lastDone, end: now})
		}
	}
	return c, t.first
}
