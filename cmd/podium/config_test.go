package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const configSecret = "0123456789abcdef0123456789abcdef" // 32 bytes

// writeConfig writes a config file into the test's temp dir and returns its path.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "podium.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// clearServeEnv unsets every PODIUM_* variable for the test, so the machine's environment
// cannot decide a precedence test.
func clearServeEnv(t *testing.T) {
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "PODIUM_") {
			t.Setenv(name, "")
			os.Unsetenv(name)
		}
	}
}

func TestConfigFileBeatsDefaults(t *testing.T) {
	clearServeEnv(t)
	path := writeConfig(t, `
http-port: 9001
max-participants: 7
empty-timeout: 90s
bwe: false
node-ip: [192.0.2.1, 192.0.2.2]
keys:
  app: `+configSecret+`
`)
	o, err := parseServe([]string{"--config", path})
	if err != nil {
		t.Fatal(err)
	}
	c := o.cfg
	if c.HTTPPort != 9001 || c.Room.MaxParticipants != 7 || c.Room.EmptyTimeout != 90*time.Second || c.Room.BandwidthEstimation {
		t.Fatalf("file values not applied: http %d, max %d, empty %v, bwe %v", c.HTTPPort, c.Room.MaxParticipants, c.Room.EmptyTimeout, c.Room.BandwidthEstimation)
	}
	if strings.Join(c.NodeIPs, ",") != "192.0.2.1,192.0.2.2" {
		t.Fatalf("node-ip list: %v", c.NodeIPs)
	}
	if c.Keys["app"] != configSecret {
		t.Fatalf("keys mapping: %v", c.Keys)
	}
	if c.UDPPort != 7882 {
		t.Fatalf("a key the file does not name keeps its default: udp %d", c.UDPPort)
	}
}

func TestEnvironmentBeatsConfigFile(t *testing.T) {
	clearServeEnv(t)
	path := writeConfig(t, "http-port: 9001\nudp-port: 9101\n")
	t.Setenv("PODIUM_HTTP_PORT", "9002")
	o, err := parseServe([]string{"--config", path})
	if err != nil {
		t.Fatal(err)
	}
	if o.cfg.HTTPPort != 9002 || o.cfg.UDPPort != 9101 {
		t.Fatalf("http %d (want the variable's 9002), udp %d (want the file's 9101)", o.cfg.HTTPPort, o.cfg.UDPPort)
	}
}

func TestFlagBeatsEnvironmentAndConfigFile(t *testing.T) {
	clearServeEnv(t)
	path := writeConfig(t, "http-port: 9001\n")
	t.Setenv("PODIUM_HTTP_PORT", "9002")
	o, err := parseServe([]string{"--config", path, "--http-port", "9003"})
	if err != nil {
		t.Fatal(err)
	}
	if o.cfg.HTTPPort != 9003 {
		t.Fatalf("http %d, want the flag's 9003", o.cfg.HTTPPort)
	}
}

func TestConfigFileFromEnvironment(t *testing.T) {
	clearServeEnv(t)
	t.Setenv("PODIUM_CONFIG", writeConfig(t, "max-participants: 3\n"))
	o, err := parseServe(nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.cfg.Room.MaxParticipants != 3 {
		t.Fatalf("max participants %d, want the file's 3", o.cfg.Room.MaxParticipants)
	}
}

func TestConfigFileErrors(t *testing.T) {
	clearServeEnv(t)
	for _, c := range []struct{ name, text, want string }{
		{"unknown key", "http-port: 9001\ncolour: blue\n", "podium.yaml:2: colour: unknown key"},
		{"the config key itself", "config: other.yaml\n", "podium.yaml:1: config: unknown key"},
		{"not a number", "max-participants: many\n", "podium.yaml:1: max-participants: parse error"},
		{"out of range", "http-port: 70000\n", "--http-port 70000: want a port, 1-65535, 0 for a free one (set in "},
		{"bad duration", "empty-timeout: soon\n", "podium.yaml:1: empty-timeout:"},
		{"bad list item", "node-ip: [192.0.2.1, nope]\n", "--node-ip \"nope\": not an IP address (set in "},
		{"short secret", "keys: {app: short}\n", "--keys: "},
		{"mapping for a plain key", "bind: {a: b}\n", "podium.yaml:1: bind: a mapping is allowed for keys only"},
		{"nested list", "node-ip: [[1]]\n", "podium.yaml:1: node-ip: a list of plain values expected"},
		{"given twice", "bind: 127.0.0.1\nbind: 127.0.0.2\n", "podium.yaml:2: bind: given twice"},
		{"not a mapping", "- http-port\n", "want a mapping of flag names to values"},
		{"two documents", "bind: 127.0.0.1\n---\nbind: 127.0.0.2\n", "one YAML document expected"},
		{"not YAML", "bind: [\n", "podium.yaml: yaml:"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseServe([]string{"--config", writeConfig(t, c.text)})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to contain %q", err, c.want)
			}
		})
	}
	if _, err := parseServe([]string{"--config", filepath.Join(t.TempDir(), "missing.yaml")}); err == nil || !strings.Contains(err.Error(), "--config:") {
		t.Fatalf("a missing file: %v", err)
	}
}

func TestEmptyConfigFileSetsNothing(t *testing.T) {
	clearServeEnv(t)
	o, err := parseServe([]string{"--config", writeConfig(t, "# nothing yet\n")})
	if err != nil {
		t.Fatal(err)
	}
	if o.cfg.HTTPPort != 7880 {
		t.Fatalf("http %d, want the default", o.cfg.HTTPPort)
	}
}

func TestConfigPrintShowsSourcesAndMasksSecrets(t *testing.T) {
	clearServeEnv(t)
	path := writeConfig(t, "max-participants: 12\nkeys:\n  app: "+configSecret+"\n")
	t.Setenv("PODIUM_UDP_PORT", "9102")
	var out strings.Builder
	if err := config([]string{"print", "--config", path, "--http-port", "9003"}, &out); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{
		`http-port: 9003 # flag`,
		`udp-port: 9102 # env PODIUM_UDP_PORT`,
		`max-participants: 12 # ` + path + `:1`,
		`keys: app:**** # ` + path + `:2`,
		`tcp-port: 7881 # default`,
		`node-ip: "" # default`,
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("config print lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, configSecret) {
		t.Fatalf("config print shows the secret:\n%s", text)
	}
	if strings.Contains(text, "\nconfig:") {
		t.Fatalf("config print lists --config itself:\n%s", text)
	}
}

func TestLogFormatJSON(t *testing.T) {
	clearServeEnv(t)
	o, err := parseServe([]string{"--log-format", "json"})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	o.logger(&out).With("room", "standup").Info("joined", "participant", "ann")
	var rec map[string]any
	if err := json.Unmarshal([]byte(out.String()), &rec); err != nil {
		t.Fatalf("not one JSON object: %q (%v)", out.String(), err)
	}
	if rec["msg"] != "joined" || rec["room"] != "standup" || rec["participant"] != "ann" {
		t.Fatalf("record %v", rec)
	}
	if _, err := parseServe([]string{"--log-format", "xml"}); err == nil || !strings.Contains(err.Error(), "--log-format \"xml\": want text or json") {
		t.Fatalf("a bad format: %v", err)
	}
}

func TestWebhookAndUnmuteFlags(t *testing.T) {
	clearServeEnv(t)
	o, err := parseServe([]string{"--webhook-urls", "https://app.example.com/hooks, http://10.0.0.2:8080/h", "--allow-remote-unmute"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(o.cfg.Webhooks.URLs, " ") != "https://app.example.com/hooks http://10.0.0.2:8080/h" || !o.cfg.Room.AllowRemoteUnmute {
		t.Fatalf("webhooks %v, remote unmute %v", o.cfg.Webhooks.URLs, o.cfg.Room.AllowRemoteUnmute)
	}
	if _, err := parseServe([]string{"--webhook-urls", "ftp://app.example.com"}); err == nil || !strings.Contains(err.Error(), "--webhook-urls") {
		t.Fatalf("a bad webhook URL: %v", err)
	}
}
