// Package whiptest is a WHIP and WHEP client for tests: a pion peer connection with the Go
// SDK's codecs that plays the committed fixtures and does the one HTTP exchange.
package whiptest

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/client/media"
	"github.com/podium-sfu/podium/client/outtrack"
	"github.com/podium-sfu/podium/client/pionapi"
	"github.com/podium-sfu/podium/testmedia"
)

// PublishFixtures publishes the VP8 fixtures as three simulcast layers (q, h, f) and the Opus
// fixture from a pion WHIP client to url; it returns the response, its body and the peer
// connection (closed when the test ends).
func PublishFixtures(t testing.TB, url, tok string) (*http.Response, string, *webrtc.PeerConnection) {
	t.Helper()
	pc := NewPC(t)
	q, h, f := testmedia.VP8Layers()
	var srcs []media.Source
	for _, b := range [][]byte{q, h, f} {
		s, err := media.NewIVFSource(b)
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, s)
	}
	AddSender(t, pc, webrtc.RTPCodecTypeVideo, webrtc.MimeTypeVP8, 90000, []string{"q", "h", "f"}, srcs...)
	opus, err := media.NewOggSource(testmedia.Opus())
	if err != nil {
		t.Fatal(err)
	}
	AddSender(t, pc, webrtc.RTPCodecTypeAudio, webrtc.MimeTypeOpus, 48000, nil, opus)
	resp, body := Post(t, pc, url, tok)
	return resp, body, pc
}

// NewPC is a pion peer connection with the Go SDK's codecs and interceptors, on loopback.
func NewPC(t testing.TB) *webrtc.PeerConnection {
	t.Helper()
	api, err := pionapi.New(pionapi.Config{Loopback: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	return pc
}

// Post sends the offer of pc, with every candidate, as a WHIP or WHEP client does; it returns
// the response and its body. A 201's answer is applied to pc.
func Post(t testing.TB, pc *webrtc.PeerConnection, url, tok string) (*http.Response, string) {
	t.Helper()
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	resp, body := Request(t, http.MethodPost, url, tok, "application/sdp", pc.LocalDescription().SDP)
	if resp.StatusCode == http.StatusCreated {
		if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: body}); err != nil {
			t.Fatalf("answer: %v\n%s", err, body)
		}
	}
	return resp, body
}

// Request makes one HTTP request and reads its body.
func Request(t testing.TB, method, url, tok, contentType, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// Sender plays fixture files on one transceiver: one layer, or a simulcast track's layers.
type Sender struct {
	layers  []*outtrack.Track
	players []*media.Player
}

// AddSender adds a sendonly transceiver playing srcs (in a loop), one per rid when rids are set.
func AddSender(t testing.TB, pc *webrtc.PeerConnection, kind webrtc.RTPCodecType, mime string, clockRate uint32,
	rids []string, srcs ...media.Source) *Sender {
	t.Helper()
	s := &Sender{}
	for i, src := range srcs {
		rid := ""
		if rids != nil {
			rid = rids[i]
		}
		out := outtrack.New(outtrack.Config{ID: kind.String(), StreamID: "whip", RID: rid, Kind: kind, MIME: mime, Packetize: true})
		s.layers = append(s.layers, out)
		s.players = append(s.players, media.NewPlayer(src, media.RealClock{}, clockRate, true,
			func(f media.Frame, ts uint64) error { return out.WriteMediaFrame(f, ts) }))
	}
	tr, err := pc.AddTransceiverFromTrack(s.layers[0], webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range s.layers[1:] {
		if err := tr.Sender().AddEncoding(l); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range s.layers {
		l.SetTransceiver(tr)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	start := time.Now()
	for _, p := range s.players {
		wg.Go(func() { _ = p.Run(ctx, start) })
	}
	wg.Go(func() { // a keyframe request starts the files again (each starts with one)
		for {
			pkts, _, err := tr.Sender().ReadRTCP()
			if err != nil {
				return
			}
			for _, p := range pkts {
				if _, ok := p.(*rtcp.PictureLossIndication); ok {
					for _, pl := range s.players {
						pl.RequestRestart(false)
					}
				}
			}
		}
	})
	t.Cleanup(func() { cancel(); _ = pc.Close(); wg.Wait() })
	return s
}
