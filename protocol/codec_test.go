package protocol

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestEncodePutsTypeFirst(t *testing.T) {
	b, err := Encode(&Pong{ID: "a", TS: 5})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(b); got != `{"type":"pong","id":"a","ts":5}` {
		t.Fatalf("Encode = %s", got)
	}
	b, err = Encode(&Leave{})
	if err != nil || string(b) != `{"type":"leave"}` {
		t.Fatalf("Encode(empty) = %s, %v", b, err)
	}
}

func TestRoundTrip(t *testing.T) {
	name := "Ann"
	for _, m := range []Message{
		&Publish{ID: "1", CID: "cam", Kind: KindVideo, Source: SourceCamera, Width: 1280, Height: 720,
			Layers: []Layer{{RID: "q", Width: 320, Height: 180}}},
		&Offer{Target: TargetPublisher, SDP: "v=0\r\n"},
		&Candidate{Target: TargetSubscriber},
		&UpdateMetadata{Name: &name},
		&Joined{Room: RoomInfo{Name: "r"}, Participants: []ParticipantInfo{}},
		&Error{ID: "9", Code: CodeForbidden, Message: "no"},
	} {
		b, err := Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("Decode(%s): %v", b, err)
		}
		again, _ := Encode(got)
		if string(again) != string(b) {
			t.Errorf("round trip changed %s into %s", b, again)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, tc := range []struct {
		name, in, wantID, wantMsg string
	}{
		{"malformed", `{"type":`, "", "malformed JSON"},
		{"no type", `{"id":"x"}`, "x", "missing"},
		{"unknown type", `{"type":"nope","id":"y"}`, "y", "unknown message type"},
		{"wrong field type", `{"type":"mute","id":"z","trackSid":5}`, "z", "bad mute"},
		{"bad target", `{"type":"offer","target":"both","sdp":"v=0"}`, "", "target"},
		{"empty sdp", `{"type":"answer","target":"subscriber","sdp":""}`, "", "sdp"},
		{"publish bad kind", `{"type":"publish","cid":"a","kind":"smell","source":"camera"}`, "", "kind"},
		{"publish audio camera", `{"type":"publish","cid":"a","kind":"audio","source":"camera"}`, "", "source"},
		{"publish no cid", `{"type":"publish","kind":"audio","source":"microphone"}`, "", "cid"},
		{"too many layers", `{"type":"publish","cid":"a","kind":"video","source":"camera","layers":[{"rid":"a"},{"rid":"b"},{"rid":"c"},{"rid":"d"}]}`, "", "layers"},
		{"subscribe empty", `{"type":"subscribe","trackSids":[],"subscribe":true}`, "", "trackSids"},
		{"negative size", `{"type":"trackSettings","trackSid":"t","width":-1}`, "", "range"},
		{"huge metadata", `{"type":"updateMetadata","metadata":"` + strings.Repeat("m", MaxMetadataLen+1) + `"}`, "", "metadata"},
		{"too large", `{"type":"ping","x":"` + strings.Repeat("x", MaxMessageSize) + `"}`, "", "64 KiB"},
		{"invalid utf8", "{\"type\":\"ping\",\"x\":\"\xff\"}", "", "UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode([]byte(tc.in))
			var perr *Error
			if !errors.As(err, &perr) {
				t.Fatalf("Decode = %v, want *Error", err)
			}
			if perr.Code != CodeBadRequest || perr.ID != tc.wantID || !strings.Contains(perr.Message, tc.wantMsg) {
				t.Fatalf("got %+v, want bad_request id %q containing %q", perr, tc.wantID, tc.wantMsg)
			}
		})
	}
}

// FuzzDecode feeds arbitrary frames to the signalling decoder: it must never panic, must reject
// with a bad_request *Error, and whatever it accepts must encode again and validate.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"type":"ping","ts":1}`, `{"type":"publish","id":"1","cid":"c","kind":"video","source":"camera","layers":[{"rid":"q"}]}`,
		`{"type":"offer","target":"publisher","sdp":"v=0"}`, `{"type":"candidate","target":"subscriber","candidate":{"candidate":"x","sdpMid":"0","sdpMLineIndex":0}}`,
		`{"type":"subscribe","trackSids":["a"],"subscribe":true}`, `{"type":"trackSettings","trackSid":"t","enabled":false}`,
		`{"type":`, `[]`, `null`, `{"type":"joined","participants":null}`, `{"type":"leave","reason":5}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data)
		if err != nil {
			var perr *Error
			if !errors.As(err, &perr) || perr.Code != CodeBadRequest {
				t.Fatalf("error %v is not a bad_request *Error", err)
			}
			return
		}
		b, err := Encode(m)
		if err != nil {
			t.Fatalf("accepted message does not encode: %v", err)
		}
		if !json.Valid(b) {
			t.Fatalf("encoded %s is not JSON", b)
		}
		if err := Validate(m); err != nil {
			t.Fatalf("accepted message fails validation: %v", err)
		}
	})
}

// TestEncodeRefusesWhatTheOtherSideWouldNotRead: a message over MaxMessageSize does not encode
// (ErrTooLarge); one at the limit does.
func TestEncodeRefusesWhatTheOtherSideWouldNotRead(t *testing.T) {
	frame := func(sdpLen int) ([]byte, error) {
		return Encode(&Offer{Target: "subscriber", SDP: strings.Repeat("a", sdpLen)})
	}
	b, err := frame(1000)
	if err != nil {
		t.Fatal(err)
	}
	overhead := len(b) - 1000
	if _, err := frame(MaxMessageSize - overhead); err != nil {
		t.Errorf("a frame of exactly %d bytes: %v", MaxMessageSize, err)
	}
	if _, err := frame(MaxMessageSize - overhead + 1); !errors.Is(err, ErrTooLarge) {
		t.Errorf("a frame of %d bytes: %v, want ErrTooLarge", MaxMessageSize+1, err)
	}
}

func TestStampSeqKeepsTheFrameValid(t *testing.T) {
	b, err := Encode(&Pong{ID: "x", TS: 5})
	if err != nil {
		t.Fatal(err)
	}
	stamped := StampSeq(StampSeq(b, "seq", 42), "cseq", 7)
	m, err := Decode(stamped)
	if err != nil {
		t.Fatalf("%s: %v", stamped, err)
	}
	if p, ok := m.(*Pong); !ok || p.ID != "x" || p.TS != 5 {
		t.Fatalf("decoded %#v from %s", m, stamped)
	}
	if seq, cseq := FrameSeqs(stamped); seq != 42 || cseq != 7 {
		t.Fatalf("seqs %d %d from %s", seq, cseq, stamped)
	}
	empty, _ := Encode(&ICERestart{})
	if seq, _ := FrameSeqs(StampSeq(empty, "seq", 1)); seq != 1 {
		t.Fatalf("a message without fields: %s", StampSeq(empty, "seq", 1))
	}
}
