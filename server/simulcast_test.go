package server

import (
	"context"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/podium-sfu/podium/client"
	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/sfu/codec"
	"github.com/podium-sfu/podium/testmedia"
)

// videoLog records every packet of one received video in arrival order.
type videoLog struct {
	mu        sync.Mutex
	seqs      []uint16
	tss       []uint32
	keyframes []keyframeSeen
	frames    int // packets with the marker bit
}

type keyframeSeen struct {
	at            time.Time
	width, height int
}

func (v *videoLog) read(tr *webrtc.TrackRemote) {
	buf := make([]byte, 1600)
	var pkt rtp.Packet
	for {
		n, _, err := tr.Read(buf)
		if err != nil {
			return
		}
		if pkt.Unmarshal(buf[:n]) != nil {
			continue
		}
		v.mu.Lock()
		v.seqs = append(v.seqs, pkt.SequenceNumber)
		v.tss = append(v.tss, pkt.Timestamp)
		if pkt.Marker {
			v.frames++
		}
		if w, h, ok := codec.VP8KeyframeSize(pkt.Payload); ok {
			v.keyframes = append(v.keyframes, keyframeSeen{time.Now(), w, h})
		}
		v.mu.Unlock()
	}
}

// firstKeyframeAfter returns when a keyframe of width w arrived after t.
func (v *videoLog) firstKeyframeAfter(t time.Time, w int) (time.Time, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, k := range v.keyframes {
		if k.at.After(t) && k.width == w {
			return k.at, true
		}
	}
	return time.Time{}, false
}

// subscribeVideo connects a subscriber and returns the log of the first video it receives.
func subscribeVideo(t *testing.T, c *client.Client) (*videoLog, *client.RemoteTrack) {
	t.Helper()
	vl := &videoLog{}
	select {
	case rt := <-c.Tracks():
		if rt.Info.Kind != protocol.KindVideo {
			t.Fatalf("got a %s track", rt.Info.Kind)
		}
		go vl.read(rt.Track) // ends when the client closes
		return vl, rt
	case <-time.After(10 * time.Second):
		t.Fatal("no video track")
	}
	return nil, nil
}

// TestSimulcastFollowsRenderedSize: a Go publisher sends three VP8 layers; the subscriber asks
// for 320, 640 and 1280 wide in turn and each time receives keyframes of that size within a
// second, in one continuous stream: no sequence gaps, no repeats, timestamps never backwards.
func TestSimulcastFollowsRenderedSize(t *testing.T) {
	n := startNode(t)
	pub := connect(t, n, "sc", "pub")
	sub := connect(t, n, "sc", "sub")
	q, h, f := testmedia.VP8Layers()
	lt, err := pub.PublishSimulcastIVF(context.Background(), q, h, f, client.Camera())
	if err != nil {
		t.Fatal(err)
	}
	vl, rt := subscribeVideo(t, sub)
	eventually(t, 5*time.Second, "the top layer by default", func() bool {
		_, ok := vl.firstKeyframeAfter(time.Time{}, 1280)
		return ok && sub.ReceivedLayer(rt.TrackSid) == "f"
	})
	for _, want := range []struct {
		w, h int
		rid  string
	}{{320, 180, "q"}, {640, 360, "h"}, {1280, 720, "f"}, {320, 180, "q"}} {
		asked := time.Now()
		if err := sub.SetTrackSettings(protocol.TrackSettings{TrackSid: lt.Sid(), Width: want.w, Height: want.h}); err != nil {
			t.Fatal(err)
		}
		eventually(t, 3*time.Second, "keyframes of width "+want.rid, func() bool {
			_, ok := vl.firstKeyframeAfter(asked, want.w)
			return ok
		})
		at, _ := vl.firstKeyframeAfter(asked, want.w)
		limit := time.Second
		if raceEnabled {
			limit *= 4
		}
		if d := at.Sub(asked); d > limit {
			t.Errorf("switch to %dx%d took %v, want under 1 s", want.w, want.h, d)
		} else {
			t.Logf("switch to %dx%d in %v", want.w, want.h, d.Round(time.Millisecond))
		}
		eventually(t, 2*time.Second, "streamState layer "+want.rid, func() bool { return sub.ReceivedLayer(rt.TrackSid) == want.rid })
		time.Sleep(300 * time.Millisecond) // let packets of the new layer flow before the next switch
	}

	time.Sleep(500 * time.Millisecond) // a packet lost on loopback under load is repaired by NACK
	if holes, conflicts, back, n := vl.continuity(); holes != 0 || conflicts != 0 || back != 0 {
		t.Errorf("over %d packets: %d sequence numbers never received, %d sent twice with different timestamps, %d timestamps going back in sequence order",
			n, holes, conflicts, back)
	}
}

// continuity judges the stream in sequence order, as a jitter buffer would, so that a packet
// lost on a busy loopback and resent on NACK (arriving late, out of order) counts as received.
// A rewrite that skips or reuses numbers across a layer switch leaves holes or conflicts that
// no repair fills.
func (v *videoLog) continuity() (holes, conflicts, back, packets int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.seqs) == 0 {
		return 0, 0, 0, 0
	}
	tsOf := map[int64]uint32{}
	var last, lo, hi int64
	for i, s := range v.seqs {
		seq := int64(s)
		if i == 0 {
			lo, hi = seq, seq
		} else {
			seq = last + int64(int16(s-uint16(last))) // unwrap against the previous arrival
		}
		last = seq
		if ts, ok := tsOf[seq]; ok && ts != v.tss[i] {
			conflicts++
		}
		tsOf[seq] = v.tss[i]
		lo, hi = min(lo, seq), max(hi, seq)
	}
	var prev uint32
	for seq := lo; seq <= hi; seq++ {
		ts, ok := tsOf[seq]
		if !ok {
			holes++
			continue
		}
		if seq > lo && int32(ts-prev) < 0 {
			back++
		}
		prev = ts
	}
	return holes, conflicts, back, len(v.seqs)
}

// lossyConn drops a share of the RTP packets the server sends (RTCP, STUN and DTLS pass), so
// the subscriber's path loses media and NACK repair has work to do.
type lossyConn struct {
	net.PacketConn
	rate    float64
	dropped atomic.Int64
	sent    atomic.Int64
}

func (c *lossyConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if isRTP(b) {
		c.sent.Add(1)
		if rand.Float64() < c.rate {
			c.dropped.Add(1)
			return len(b), nil
		}
	}
	return c.PacketConn.WriteTo(b, addr)
}

func isRTP(b []byte) bool {
	return len(b) >= 12 && b[0]>>6 == 2 && (b[1]&0x7F < 64 || b[1]&0x7F > 95)
}

// TestNACKRepairUnderLoss: with 5% of the server's media packets lost, subscriber NACKs are
// answered from the packet cache: at least 90% of the losses are repaired and frames keep coming.
func TestNACKRepairUnderLoss(t *testing.T) {
	lossy := &lossyConn{rate: 0.05}
	r := repairUnderLoss(t, func(c net.PacketConn) net.PacketConn { lossy.PacketConn = c; return lossy })
	dropped := lossy.dropped.Load()
	t.Logf("sent %d media packets, dropped %d, still missing %d (first: %v of %d..%d), %d frames",
		lossy.sent.Load(), dropped, r.missing, r.first, r.lo, r.hi, r.frames)
	r.check(t, dropped)
}

// repair is what a subscriber got of a 4-second VP8 stream with injected loss.
type repair struct {
	missing, frames int
	first           []uint16 // the first few missing sequence numbers
	lo, hi          uint16
}

// repairUnderLoss publishes a 1280-wide VP8 stream to one subscriber through a node whose
// media socket wrap injects loss, and reports what the subscriber is missing after 4 s.
func repairUnderLoss(t *testing.T, wrap func(net.PacketConn) net.PacketConn) repair {
	n := startNodeWith(t, func(c *Config) { c.Media.WrapPacketConn = wrap })
	pub := connect(t, n, "loss", "pub")
	sub := connect(t, n, "loss", "sub")
	if _, err := pub.PublishIVF(context.Background(), testmedia.VP8(1280), client.Camera()); err != nil {
		t.Fatal(err)
	}
	vl, _ := subscribeVideo(t, sub)
	time.Sleep(4 * time.Second) // measure over a few seconds of media: ~450 packets, ~20 lost
	vl.mu.Lock()
	defer vl.mu.Unlock()
	got := map[uint16]bool{}
	r := repair{lo: vl.seqs[0], hi: vl.seqs[0], frames: vl.frames}
	for _, s := range vl.seqs {
		got[s] = true
		if int16(s-r.lo) < 0 {
			r.lo = s
		}
		if int16(s-r.hi) > 0 {
			r.hi = s
		}
	}
	// The last 200 ms may still be under repair: judge the range up to there.
	for s := r.lo; s != r.hi-20; s++ {
		if !got[s] {
			r.missing++
			if len(r.first) < 10 {
				r.first = append(r.first, s)
			}
		}
	}
	return r
}

// check wants at least 90% of the dropped packets repaired and frames flowing.
func (r repair) check(t *testing.T, dropped int64) {
	t.Helper()
	if dropped < 5 {
		t.Fatalf("only %d packets dropped: the loss injection is not working", dropped)
	}
	if float64(r.missing) > 0.1*float64(dropped) {
		t.Errorf("the subscriber misses %d packets of %d lost: want at least 90%% repaired", r.missing, dropped)
	}
	if r.frames < 90 {
		t.Errorf("only %d frames completed in 4 s", r.frames)
	}
}

// upLossyConn loses a share of the media packets the server receives.
type upLossyConn struct {
	net.PacketConn
	rate     float64
	dropped  atomic.Int64
	received atomic.Int64
}

func (c *upLossyConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(b)
		if err != nil || !isRTP(b[:n]) {
			return n, addr, err
		}
		c.received.Add(1)
		if rand.Float64() >= c.rate {
			return n, addr, nil
		}
		c.dropped.Add(1)
	}
}

// TestUpstreamNACKRepairUnderLoss: with 5% of the publisher's media packets lost on the way to
// the server, the server's NACKs get them resent and forwarded: the subscriber misses at most a
// tenth of what was lost, and frames keep coming.
func TestUpstreamNACKRepairUnderLoss(t *testing.T) {
	lossy := &upLossyConn{rate: 0.05}
	r := repairUnderLoss(t, func(c net.PacketConn) net.PacketConn { lossy.PacketConn = c; return lossy })
	dropped := lossy.dropped.Load()
	t.Logf("server received %d media packets, lost %d; the subscriber misses %d (first: %v of %d..%d); %d frames",
		lossy.received.Load(), dropped, r.missing, r.first, r.lo, r.hi, r.frames)
	r.check(t, dropped)
}

// TestSimulcastLayersOfOneReceiverStayTogether: Firefox announces a track with `publish`'s cid
// but sends it under another msid track id. Every layer of one RTP receiver belongs to one
// track whatever the msid says: a subscriber can still switch to each of them. (Before, the
// first layer was matched by a fallback and the others were dropped as "not announced".)
func TestSimulcastLayersOfOneReceiverStayTogether(t *testing.T) {
	n := startNode(t)
	tap := newSignalTap(t, n, 0)
	tap.rewriteUp = func(m protocol.Message) protocol.Message {
		if p, ok := m.(*protocol.Publish); ok {
			p.CID = "firefox-" + p.CID // not the msid track id the offer will carry
		}
		return m
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pub, err := client.Connect(ctx, tap.URL(), token(t, "ff", "firefox", nil), client.Options{Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	sub := connect(t, n, "ff", "sub")
	q, h, f := testmedia.VP8Layers()
	lt, err := pub.PublishSimulcastIVF(ctx, q, h, f, client.Camera())
	if err != nil {
		t.Fatal(err)
	}
	vl, rt := subscribeVideo(t, sub)
	for _, want := range []struct {
		w, h int
		rid  string
	}{{640, 360, "h"}, {1280, 720, "f"}, {320, 180, "q"}} {
		asked := time.Now()
		if err := sub.SetTrackSettings(protocol.TrackSettings{TrackSid: lt.Sid(), Width: want.w, Height: want.h}); err != nil {
			t.Fatal(err)
		}
		eventually(t, 5*time.Second, "keyframes of layer "+want.rid, func() bool {
			_, ok := vl.firstKeyframeAfter(asked, want.w)
			return ok && sub.ReceivedLayer(rt.TrackSid) == want.rid
		})
	}
}
