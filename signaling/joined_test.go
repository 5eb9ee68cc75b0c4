package signaling

import (
	"fmt"
	"strings"
	"testing"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room"
)

// maximalInfo is a participant at every limit: the longest identity and name, metadata that
// is 16 KiB once encoded, and the most tracks with three layers each.
func maximalInfo(i int) protocol.ParticipantInfo {
	info := protocol.ParticipantInfo{
		Sid:      fmt.Sprintf("PA_%020d", i),
		Identity: fmt.Sprintf("%0*d", protocol.MaxIDLen, i),
		Name:     strings.Repeat("<", protocol.MaxNameLen), // six bytes each as JSON
		Metadata: strings.Repeat("m", protocol.MaxMetadataLen),
	}
	for k := range room.DefaultLimits.MaxOfferSections / 4 {
		info.Tracks = append(info.Tracks, protocol.TrackInfo{Sid: fmt.Sprintf("TR_%020d", k), Kind: "video",
			Source: "camera", Width: 1280, Height: 720, MimeType: "video/VP8", Layers: []protocol.Layer{
				{RID: "q", Width: 320, Height: 180, MaxBitrate: 150_000},
				{RID: "h", Width: 640, Height: 360, MaxBitrate: 500_000},
				{RID: "f", Width: 1280, Height: 720, MaxBitrate: 1_500_000}}})
	}
	return info
}

// Finding 4: four participants with 16 KiB of metadata made `joined` 66 KB, over the frame
// limit: it was never sent and the room could not be joined. Any legal room state must reach a
// newcomer: here a room of 100 at every limit, with room metadata at its limit too.
func TestJoinedFramesCarryAnyLegalRoom(t *testing.T) {
	self := maximalInfo(0)
	list := make([]protocol.ParticipantInfo, 0, 99)
	for i := 1; i < 100; i++ {
		list = append(list, maximalInfo(i))
	}
	j := &protocol.Joined{Room: protocol.RoomInfo{Name: strings.Repeat("r", 128), Metadata: strings.Repeat("x", protocol.MaxMetadataLen)},
		Participant: self, ICEServers: []protocol.ICEServer{{URLs: []string{"turn:turn.example.com:3478"}, Username: "u", Credential: "c"}}}
	frames := joinedFrames(j, list)
	if len(frames) < 2 {
		t.Fatalf("%d frames for 99 participants of 18 KiB", len(frames))
	}
	var got []protocol.ParticipantInfo
	for i, m := range frames {
		b, err := protocol.Encode(m)
		if err != nil {
			t.Fatalf("frame %d (%s): %v", i, m.MessageType(), err)
		}
		back, err := protocol.Decode(b)
		if err != nil {
			t.Fatalf("frame %d does not decode: %v", i, err)
		}
		last := i == len(frames)-1
		switch m := back.(type) {
		case *protocol.Joined:
			if i != 0 || m.More == last {
				t.Fatalf("frame %d: joined with more=%v", i, m.More)
			}
			got = append(got, m.Participants...)
		case *protocol.JoinedParticipants:
			if i == 0 || m.More == last {
				t.Fatalf("frame %d: joinedParticipants with more=%v", i, m.More)
			}
			got = append(got, m.Participants...)
		default:
			t.Fatalf("frame %d is %s", i, m.MessageType())
		}
	}
	if len(got) != len(list) {
		t.Fatalf("the frames carry %d participants, want %d", len(got), len(list))
	}
	for i := range got {
		if got[i].Sid != list[i].Sid || got[i].Metadata != list[i].Metadata {
			t.Fatalf("participant %d differs after the split", i)
		}
	}
}

func TestJoinedFitsOneFrameWhenItCan(t *testing.T) {
	j := &protocol.Joined{Participant: protocol.ParticipantInfo{Sid: "PA_self"}}
	frames := joinedFrames(j, []protocol.ParticipantInfo{{Sid: "PA_a"}, {Sid: "PA_b"}})
	if len(frames) != 1 || j.More || len(j.Participants) != 2 {
		t.Fatalf("a small room took %d frames (more=%v)", len(frames), j.More)
	}
	if frames := joinedFrames(&protocol.Joined{}, nil); len(frames) != 1 {
		t.Fatalf("an empty room took %d frames", len(frames))
	}
}

// TestSessionSplitsJoined: the room hands the session one joined with everyone; the client
// reads it as joined and joinedParticipants frames, each under the frame limit, with everyone.
func TestSessionSplitsJoined(t *testing.T) {
	c, s, _ := sessionPair(t, withDefaults(room.Limits{}), nil)
	list := make([]protocol.ParticipantInfo, 0, 20)
	for i := range 20 {
		list = append(list, maximalInfo(i+1))
	}
	s.Send(&protocol.Joined{Participant: maximalInfo(0), Participants: list})
	var got []string
	frames := readUntil(t, c, func(m protocol.Message) bool {
		switch m := m.(type) {
		case *protocol.Joined:
			for _, p := range m.Participants {
				got = append(got, p.Sid)
			}
			return !m.More
		case *protocol.JoinedParticipants:
			for _, p := range m.Participants {
				got = append(got, p.Sid)
			}
			return !m.More
		}
		return false
	})
	if len(frames) < 2 || len(got) != len(list) {
		t.Fatalf("%d frames with %d participants, want several frames with %d", len(frames), len(got), len(list))
	}
	for i, p := range list {
		if got[i] != p.Sid {
			t.Fatalf("participant %d is %s, want %s", i, got[i], p.Sid)
		}
	}
}
