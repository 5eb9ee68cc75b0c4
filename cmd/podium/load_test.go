package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/podium-sfu/podium/loadtest"
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
		"--join-rate", "10", "--floor", "200ms", "--quiet", "--json", jsonPath)
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
	rep := readReport(t, jsonPath)
	sc := rep.Scenario
	if !sc.Embedded || sc.Rooms != 1 || sc.Publishers != 2 || sc.AudioPublishers != 1 || sc.Subscribers != 1 ||
		sc.DurationSeconds != 2 || sc.SpeakerSeconds != 1 || !sc.Simulcast || !sc.ScreenShare || sc.View != "speaker" || sc.JoinRate != 10 {
		t.Errorf("the flags did not reach the scenario: %+v", sc)
	}
	if rep.Joined != 4 {
		t.Errorf("%d joined, want 4", rep.Joined)
	}
	if rep.JoinSpreadSeconds < 0.28 || rep.JoinSpreadSeconds > 2 { // 4 at 10 a second: 0.3 s
		t.Errorf("--join-rate 10: the last of 4 dialed %.2f s after the first, want 0.3 s", rep.JoinSpreadSeconds)
	}
	if !strings.Contains(stdout.String(), "join rate     10 a second") {
		t.Errorf("the report does not mention the join rate:\n%s", stdout.String())
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

// TestLoadCommandAgainstServe runs `podium load --url --key --secret` against `podium serve` in
// its own process, the way docs/benchmarks.md measures: the server's CPU and peak RSS come from
// its /metrics (process metrics) without --server-pid and from /proc with it, and the packets
// it forwarded from its admin API (a token minted from the same key).
func TestLoadCommandAgainstServe(t *testing.T) {
	bin := podiumBinary(t)
	p := startServe(t, "--keys", testKey+":"+testSecret)
	p.waitHealthy(t)
	wsURL := "ws" + strings.TrimPrefix(p.http, "http")

	for _, tc := range []struct {
		name, source string
		extra        []string
	}{
		{"metrics", p.http + "/metrics", nil},
		{"server-pid", fmt.Sprintf("/proc/%d", p.cmd.Process.Pid), []string{"--server-pid", strconv.Itoa(p.cmd.Process.Pid)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			jsonPath := filepath.Join(t.TempDir(), "load.json")
			args := append([]string{"load", "--url", wsURL, "--key", testKey, "--secret", testSecret,
				"--publishers", "1", "--subscribers", "1", "--duration", "2s", "--warmup", "1s",
				"--floor", "100ms", "--quiet", "--json", jsonPath}, tc.extra...)
			out, err := exec.Command(bin, args...).CombinedOutput()
			if err != nil {
				t.Fatalf("podium load: %v\n%s", err, out)
			}
			rep := readReport(t, jsonPath)
			s := rep.Server
			if rep.Scenario.URL != wsURL || rep.Scenario.Embedded || rep.Joined != 2 || rep.ForwardedPackets == 0 {
				t.Fatalf("scenario %+v, %d joined, %d packets forwarded\n%s", rep.Scenario, rep.Joined, rep.ForwardedPackets, out)
			}
			if s.Source != tc.source || s.Error != "" {
				t.Errorf("server figures from %q (error %q), want %q", s.Source, s.Error, tc.source)
			}
			if s.CPUSeconds <= 0 || s.PeakRSSBytes < 1<<20 || s.CPUMicrosPerPacket <= 0 {
				t.Errorf("server CPU %.3f s, peak RSS %.0f B, %.1f µs per packet: the server was not measured", s.CPUSeconds, s.PeakRSSBytes, s.CPUMicrosPerPacket)
			}
			if s.PacketSource != "server's count" {
				t.Errorf("packets counted from %q: the admin API was not read", s.PacketSource)
			}
			if s.MallocsPerPacket == nil || *s.MallocsPerPacket <= 0 {
				t.Errorf("no heap allocations per packet from the server's /metrics")
			}
		})
	}
	p.stop(t)
}

// readReport reads the report `podium load --json` wrote, into the type that wrote it.
func readReport(t *testing.T, path string) loadtest.Report {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rep loadtest.Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rep
}
