package participant

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room/downlink"
	"github.com/podium-sfu/podium/room/peer"
	"github.com/podium-sfu/podium/sfu"
)

// HTTPJoin is a participant negotiated over HTTP, in one exchange: WHIP ingest (RFC 9725), whose
// offer publishes, or WHEP egress, whose offer receives. It has no signalling channel: what the
// room would tell it is dropped, and it is never offered anything again. Reading the offer is
// the caller's (package whip): it says what the offer publishes or where it receives.
type HTTPJoin struct {
	Room  string
	Join  JoinParams // its Sink is the session's own
	Offer string
	// Publishes: what a WHIP offer publishes, one per m-section it sends on.
	Publishes []*protocol.Publish
	// Receiving: the m-sections a WHEP offer receives on.
	Receiving []Receiving
	// From names the participant whose tracks a WHEP session plays; "": the room's.
	From string
	// Gone is called once the participant has left, whatever the reason (DELETE, a failed
	// connection, a kick, a newer session of its identity, shutdown). It must not block.
	Gone func()
}

// Receiving is an m-section of a WHEP offer that receives: its mid, its kind (protocol.KindAudio
// or KindVideo) and the codecs it takes ("video/VP8").
type Receiving struct {
	Mid, Kind string
	MimeTypes []string
}

// httpSession is the Sink of a participant negotiated over HTTP, and what such a participant
// does differently: it makes no subscriber offers, and a WHEP session receives the tracks bound
// to its client's m-sections and no others.
type httpSession struct {
	gone      func()
	closeOnce sync.Once
	done      chan struct{}

	from  string                     // WHEP: whose tracks; "" the room's
	bound map[string]*PublishedTrack // WHEP: by sid, the tracks its m-sections carry (control queue)
}

func newHTTPSession(gone func(), from string) *httpSession {
	return &httpSession{gone: gone, done: make(chan struct{}), from: from}
}

// Send drops m: the client has no channel to receive it on.
func (s *httpSession) Send(protocol.Message) {}

// Close ends the session: the participant is leaving.
func (s *httpSession) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		if s.gone != nil {
			s.gone()
		}
	})
}

// Done is closed by Close.
func (s *httpSession) Done() <-chan struct{} { return s.done }

// httpSession is the participant's session when it was negotiated over HTTP, else nil.
func (p *Participant) httpSession() *httpSession {
	s, _ := p.sink.(*httpSession)
	return s
}

// onClosed ends a session over HTTP whose client closed its connection (DTLS close_notify): it
// has no other channel to say that it went. A WebSocket client says so on its socket.
func (p *Participant) onClosed() {
	if p.httpSession() != nil {
		p.RequestClose("")
	}
}

// httpPeer is what a session over HTTP asks of its connections besides Peer (package peer's).
type httpPeer interface {
	AddTrackAt(dt *sfu.DownTrack, mid string) error
	AnswerSubscriber(sdp string) (string, error)
	GatheredAnswer(ctx context.Context, side peer.Side) (string, error)
}

// playable lists the tracks a WHEP session may play: from's (everyone's when ""), the
// earliest participant's first, cameras and microphones before screens.
func (p *Participant) playable(from string) []*PublishedTrack {
	others := p.room.Others(p)
	slices.SortStableFunc(others, func(a, b *Participant) int { return a.joinedAt.Compare(b.joinedAt) })
	var out []*PublishedTrack
	for _, o := range others {
		if o.perms.Hidden || (from != "" && o.identity != from) {
			continue
		}
		tracks := o.PublishedTracks()
		slices.SortStableFunc(tracks, func(a, b *PublishedTrack) int { return sourceRank(a) - sourceRank(b) })
		out = append(out, tracks...)
	}
	return out
}

func sourceRank(t *PublishedTrack) int {
	t.owner.mu.Lock()
	defer t.owner.mu.Unlock()
	if t.info.Source == protocol.SourceCamera || t.info.Source == protocol.SourceMicrophone {
		return 0
	}
	return 1
}

// fits reports whether t can go on the offered m-section: its kind, a codec the client offers.
func (t *PublishedTrack) fits(s Receiving) bool {
	t.owner.mu.Lock()
	defer t.owner.mu.Unlock()
	return t.info.Kind == s.Kind && slices.ContainsFunc(s.MimeTypes, func(m string) bool {
		return strings.EqualFold(m, t.info.MimeType)
	})
}

// wanted is what a session over HTTP receives: the tracks bound to its m-sections that are
// still published. A WHEP session whose every track has gone leaves: its player sees the
// connection end and may start again, and will then get what the room has.
func (s *httpSession) wanted(p *Participant) map[string]downlink.Track {
	want := map[string]downlink.Track{}
	if len(s.bound) == 0 {
		return want
	}
	for _, o := range p.room.Others(p) {
		for _, t := range o.PublishedTracks() {
			if s.bound[t.sid] == t {
				want[t.sid] = t
			}
		}
	}
	if len(want) == 0 {
		p.RequestClose("")
	}
	return want
}

// NewHTTPSession is the Sink of a participant negotiated over HTTP: gone hears that it left;
// from names whose tracks a WHEP session plays ("": the room's).
func NewHTTPSession(gone func(), from string) Sink { return newHTTPSession(gone, from) }

// AnswerIngest publishes what a WHIP offer sends and answers it, with every candidate.
func (p *Participant) AnswerIngest(ctx context.Context, publishes []*protocol.Publish, offer string) (string, error) {
	return p.answerHTTP(ctx, peer.Publisher, func() (string, error) {
		for _, pub := range publishes {
			if err := p.handlePublish(pub); err != nil {
				return "", err
			}
		}
		answer, err := p.peer.AnswerPublisher(offer)
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrBadRequest, err)
		}
		return answer, nil
	})
}

// AnswerEgress binds the room's tracks to the m-sections of a WHEP offer that receive and
// answers it, with every candidate.
func (p *Participant) AnswerEgress(ctx context.Context, receiving []Receiving, offer string) (string, error) {
	return p.answerHTTP(ctx, peer.Subscriber, func() (string, error) {
		hs := p.httpSession()
		hp, ok := p.peer.(httpPeer)
		if hs == nil || !ok {
			return "", fmt.Errorf("%w: this participant cannot answer over HTTP", ErrBadRequest)
		}
		hs.bound = map[string]*PublishedTrack{}
		candidates := p.playable(hs.from)
		for _, s := range receiving {
			i := slices.IndexFunc(candidates, func(t *PublishedTrack) bool { return t.fits(s) })
			if i < 0 {
				continue
			}
			t := candidates[i]
			candidates = slices.Delete(candidates, i, i+1)
			at := func(dt *sfu.DownTrack) error { return hp.AddTrackAt(dt, s.Mid) }
			if err := p.down.Subscribe(t, at); err != nil {
				return "", err
			}
			hs.bound[t.sid] = t
		}
		if len(hs.bound) == 0 {
			return "", fmt.Errorf("%w: no track to play for this offer", ErrNotFound)
		}
		answer, err := hp.AnswerSubscriber(offer)
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrBadRequest, err)
		}
		return answer, nil
	})
}

// answerHTTP runs negotiate on the control queue and waits for side's candidates.
func (p *Participant) answerHTTP(ctx context.Context, side peer.Side, negotiate func() (string, error)) (string, error) {
	type result struct {
		answer string
		err    error
	}
	done := make(chan result, 1)
	left := fmt.Errorf("%w: the participant left", ErrConflict)
	if !p.q.Push(func() {
		if p.closing {
			done <- result{err: left}
			return
		}
		a, err := negotiate()
		done <- result{a, err}
	}) {
		return "", left
	}
	r := <-done
	if r.err == nil {
		if hp, ok := p.peer.(httpPeer); ok {
			r.answer, r.err = hp.GatheredAnswer(ctx, side)
		}
	}
	return r.answer, r.err
}
