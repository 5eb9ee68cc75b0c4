package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadCommandEmbedded runs `podium load --embedded` as a user would, with the flags:
// they reach the scenario (the JSON echoes them), the text report and --json are written, and
// the paced floor runs its receivers in `podium load-sink`, a process of the same binary.
func TestLoadCommandEmbedded(t *testing.T) {
	bin := podiumBinary(t)
	jsonPath := filepath.Join(t.TempDir(), "load.json")
	cmd := exec.Command(bin, "load", "--embedded", "--rooms", "1", "--publishers", "2",
		"--audio-publishers", "1", "--subscribers", "1", "--duration", "2s", "--warmup", "1s",
		"--simulcast=true", "--speakers", "1s", "--view", "speaker", "--screen-share",
		"--floor", "200ms", "--quiet", "--json", jsonPath)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("podium load: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	for _, want := range []string{"join ", "loss ", "freezes ", "speakers ", "per forwarded packet", "paced floor"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("the report lacks %q:\n%s", want, stdout.String())
		}
	}
	raw, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Scenario struct {
			Embedded                                        bool
			Rooms, Publishers, AudioPublishers, Subscribers int
			DurationSeconds, SpeakerSeconds                 float64
			Simulcast, ScreenShare                          bool
			View                                            string
		}
		Joined     int
		PacedFloor *struct {
			CPUMicros float64 `json:"cpuMicrosPerPacket"`
		}
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	sc := rep.Scenario
	if !sc.Embedded || sc.Rooms != 1 || sc.Publishers != 2 || sc.AudioPublishers != 1 || sc.Subscribers != 1 ||
		sc.DurationSeconds != 2 || sc.SpeakerSeconds != 1 || !sc.Simulcast || !sc.ScreenShare || sc.View != "speaker" {
		t.Errorf("the flags did not reach the scenario: %+v", sc)
	}
	if rep.Joined != 4 {
		t.Errorf("%d joined, want 4", rep.Joined)
	}
	if rep.PacedFloor == nil || rep.PacedFloor.CPUMicros <= 0 {
		t.Errorf("no paced floor (its receivers run in `podium load-sink`): %+v", rep.PacedFloor)
	}

	// A bad value is refused before anything runs.
	out, err := exec.Command(bin, "load", "--embedded", "--view", "mosaic").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "view") {
		t.Errorf("--view mosaic: %v\n%s", err, out)
	}
}
