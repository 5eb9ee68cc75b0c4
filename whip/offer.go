package whip

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room"
)

// offeredSection is one audio or video m-section of a client's offer: WHIP publishes each one
// it sends on, WHEP has a track bound to each one it receives on.
type offeredSection struct {
	mid       string
	kind      string   // protocol.KindAudio or KindVideo
	direction string   // sendrecv, sendonly, recvonly or inactive
	trackID   string   // msid's track id, "" without msid
	mimeTypes []string // the codecs offered, as "video/VP8"
	layers    []protocol.Layer
}

// sends reports whether the client sends media on the section; receives, whether it takes it.
func (s offeredSection) sends() bool { return s.direction == "sendrecv" || s.direction == "sendonly" }
func (s offeredSection) receives() bool {
	return s.direction == "sendrecv" || s.direction == "recvonly"
}

// publishes is what a WHIP offer publishes, as the WebSocket protocol's publish would say it:
// a camera or a microphone for each m-section it sends on, its simulcast rids as layers.
func publishes(sections []offeredSection) ([]*protocol.Publish, error) {
	var out []*protocol.Publish
	for _, s := range sections {
		if !s.sends() {
			continue
		}
		pub := &protocol.Publish{CID: s.trackID, Kind: s.kind, Source: protocol.SourceCamera, Layers: s.layers}
		if pub.CID == "" {
			pub.CID = "mid-" + s.mid
		}
		if s.kind == protocol.KindAudio {
			pub.Source = protocol.SourceMicrophone
		}
		out = append(out, pub)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: the offer sends no audio or video", room.ErrBadRequest)
	}
	return out, nil
}

// receivers are the m-sections a WHEP offer receives on, for room to bind tracks to.
func receivers(sections []offeredSection) []room.Receiving {
	var out []room.Receiving
	for _, s := range sections {
		if s.receives() {
			out = append(out, room.Receiving{Mid: s.mid, Kind: s.kind, MimeTypes: s.mimeTypes})
		}
	}
	return out
}

// parseOffer reads the audio and video m-sections of an offer; other m-sections (data) are
// skipped. maxSections bounds the m-sections before anything is kept of them.
func parseOffer(offer string, maxSections int) ([]offeredSection, error) {
	if n := strings.Count(offer, "\nm="); n > maxSections {
		return nil, fmt.Errorf("%w: the offer has %d m-sections, at most %d", room.ErrLimit, n, maxSections)
	}
	var d sdp.SessionDescription
	if err := d.UnmarshalString(offer); err != nil {
		return nil, fmt.Errorf("%w: malformed SDP: %v", room.ErrBadRequest, err)
	}
	var out []offeredSection
	for _, m := range d.MediaDescriptions {
		kind := m.MediaName.Media
		if kind != protocol.KindAudio && kind != protocol.KindVideo {
			continue
		}
		s := offeredSection{kind: kind, direction: "sendrecv"}
		var rids []protocol.Layer
		var order []string
		for _, a := range m.Attributes {
			switch a.Key {
			case "mid":
				s.mid = a.Value
			case "sendrecv", "sendonly", "recvonly", "inactive":
				s.direction = a.Key
			case "msid":
				if f := strings.Fields(a.Value); len(f) == 2 {
					s.trackID = f[1]
				}
			case "ssrc": // "1234 msid:stream track", where some stacks put msid
				if _, v, ok := strings.Cut(a.Value, " msid:"); ok && s.trackID == "" {
					if f := strings.Fields(v); len(f) == 2 {
						s.trackID = f[1]
					}
				}
			case "rtpmap":
				if mime, ok := rtpmapMime(kind, a.Value); ok && !slices.Contains(s.mimeTypes, mime) {
					s.mimeTypes = append(s.mimeTypes, mime)
				}
			case "rid":
				if l, ok := sendRID(a.Value); ok {
					rids = append(rids, l)
				}
			case "simulcast":
				order = simulcastSend(a.Value)
			}
		}
		if s.mid == "" {
			return nil, fmt.Errorf("%w: an m-section has no mid", room.ErrBadRequest)
		}
		if kind == protocol.KindVideo && len(rids) > 1 {
			s.layers = orderLayers(rids, order)
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: the offer has no audio or video", room.ErrBadRequest)
	}
	return out, nil
}

// rtpmapMime turns "96 VP8/90000" into "video/VP8"; retransmission and FEC formats are not codecs.
func rtpmapMime(kind, v string) (string, bool) {
	f := strings.Fields(v)
	if len(f) != 2 {
		return "", false
	}
	name, _, _ := strings.Cut(f[1], "/")
	switch strings.ToLower(name) {
	case "rtx", "red", "ulpfec", "flexfec-03", "cn", "telephone-event":
		return "", false
	}
	return kind + "/" + name, true
}

// sendRID reads "q send max-width=320;max-height=180" (RFC 8851); recv rids are not layers.
func sendRID(v string) (protocol.Layer, bool) {
	f := strings.Fields(v)
	if len(f) < 2 || f[1] != "send" {
		return protocol.Layer{}, false
	}
	l := protocol.Layer{RID: f[0]}
	if len(f) > 2 {
		for _, p := range strings.Split(f[2], ";") {
			k, val, _ := strings.Cut(p, "=")
			n, _ := strconv.Atoi(val)
			switch k {
			case "max-width":
				l.Width = n
			case "max-height":
				l.Height = n
			case "max-br":
				l.MaxBitrate = n
			}
		}
	}
	return l, true
}

// simulcastSend lists the send rids of "send q;h;f" in order (alternatives and pauses too).
func simulcastSend(v string) []string {
	f := strings.Fields(v)
	for i := 0; i+1 < len(f); i += 2 {
		if f[i] == "send" {
			return strings.FieldsFunc(strings.ReplaceAll(f[i+1], "~", ""), func(r rune) bool { return r == ';' || r == ',' })
		}
	}
	return nil
}

// layerNames are the names of layers in use, lowest first: q/h/f (browsers, Podium's SDKs),
// l/m/h and low/mid/high.
var layerNames = [][]string{{"q", "h", "f"}, {"l", "m", "h"}, {"low", "mid", "high"}}

// orderLayers returns the simulcast layers lowest first, the order room's layer indices take
// when widths are equal (alloc.LayerIndex). The evidence, best first: max-width, max-br, the
// conventional names, and else the simulcast attribute's order, which RFC 8853 makes the
// sender's preference: most preferred, the highest, first.
func orderLayers(rids []protocol.Layer, order []string) []protocol.Layer {
	if len(order) > 0 { // the attribute's order, with the rids it names
		byRID := map[string]protocol.Layer{}
		for _, l := range rids {
			byRID[l.RID] = l
		}
		rids = rids[:0:0]
		for _, id := range order {
			if l, ok := byRID[id]; ok {
				rids = append(rids, l)
				delete(byRID, id)
			}
		}
	}
	if len(rids) > protocol.MaxLayers {
		rids = rids[:protocol.MaxLayers]
	}
	all := func(ok func(protocol.Layer) bool) bool {
		return !slices.ContainsFunc(rids, func(l protocol.Layer) bool { return !ok(l) })
	}
	by := func(key func(protocol.Layer) int) {
		slices.SortStableFunc(rids, func(a, b protocol.Layer) int { return cmp.Compare(key(a), key(b)) })
	}
	if all(func(l protocol.Layer) bool { return l.Width > 0 }) {
		by(func(l protocol.Layer) int { return l.Width })
		return rids
	}
	for i := range rids {
		rids[i].Width, rids[i].Height = 0, 0 // some unknown: ranks by width would mislead
	}
	if all(func(l protocol.Layer) bool { return l.MaxBitrate > 0 }) {
		by(func(l protocol.Layer) int { return l.MaxBitrate })
		return rids
	}
	for _, names := range layerNames {
		if all(func(l protocol.Layer) bool { return slices.Contains(names, l.RID) }) {
			by(func(l protocol.Layer) int { return slices.Index(names, l.RID) })
			return rids
		}
	}
	slices.Reverse(rids)
	return rids
}
