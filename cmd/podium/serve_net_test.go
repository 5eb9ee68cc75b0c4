package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestServeNetFlagsChecked: the TLS, TURN and public-address flags are checked, each error
// naming its flag, and off by default.
func TestServeNetFlagsChecked(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string // in the error; "" means accepted
	}{
		{"everything valid", []string{"--tls-domain", "media.example.com", "--tls-acme-cache", "/var/lib/podium", "--turn-port", "3478",
			"--turn-tls-port", "5349", "--turn-secret", "s3cret", "--turn-external", "turn:turn.example.com:3478?transport=udp,stun:stun.example.com:3478",
			"--turn-relay-ports", "50000-50999", "--node-ip", "auto", "--stun-servers", "127.0.0.1:3478"}, ""},
		{"cert without key", []string{"--tls-cert", "cert.pem"}, "--tls-key"},
		{"two ways to TLS", []string{"--dev-tls", "--tls-domain", "media.example.com"}, "--dev-tls"},
		{"domain is an URL", []string{"--tls-domain", "https://media.example.com"}, "--tls-domain"},
		{"domain is an IP", []string{"--tls-domain", "203.0.113.7"}, "--tls-domain"},
		{"turn port too big", []string{"--turn-port", "70000"}, "--turn-port"},
		{"turn tls port without a certificate", []string{"--turn-tls-port", "443"}, "--turn-tls-port"},
		{"external TURN without a secret", []string{"--turn-external", "turn:turn.example.com:3478"}, "--turn-secret"},
		{"external STUN needs no secret", []string{"--turn-external", "stun:stun.example.com:3478"}, ""},
		{"external not an ICE URL", []string{"--turn-external", "https://turn.example.com", "--turn-secret", "s"}, "--turn-external"},
		{"relay range reversed", []string{"--turn-relay-ports", "50999-50000"}, "--turn-relay-ports"},
		{"relay range one port", []string{"--turn-relay-ports", "50000"}, "--turn-relay-ports"},
		{"stun server without port", []string{"--stun-servers", "stun.example.com"}, "--stun-servers"},
		{"credential ttl zero", []string{"--turn-credential-ttl", "0s"}, "--turn-credential-ttl"},
		{"node ip auto and another", []string{"--node-ip", "auto,203.0.113.7"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			serveEnv(t, nil)
			_, err := parseServe(tc.args)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one naming %s", err, tc.want)
			}
		})
	}
}

// TestServeNetFlagsMeaning: the flags reach the node's config; without them TLS and TURN are
// off and the node IPs are what --node-ip says.
func TestServeNetFlagsMeaning(t *testing.T) {
	serveEnv(t, nil)
	o, err := parseServe(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c := o.cfg; c.TURN.Embedded || len(c.TURN.External) > 0 || c.TLS.Dev || c.TLS.Domain != "" || c.TLS.CertFile != "" || c.NodeIPAuto {
		t.Fatalf("defaults turn something on: TURN %+v TLS %+v auto %v", c.TURN, c.TLS, c.NodeIPAuto)
	}
	o, err = parseServe([]string{"--dev-tls", "--turn-port", "3478", "--turn-tls-port", "443", "--turn-relay-ports", "50000-50999",
		"--turn-host", "turn.example.com", "--turn-credential-ttl", "2h", "--node-ip", "auto,203.0.113.7", "--stun-servers", "127.0.0.1:3478, 127.0.0.2:3478"})
	if err != nil {
		t.Fatal(err)
	}
	c := o.cfg
	if !c.TLS.Dev || !c.TURN.Embedded || c.TURN.UDPPort != 3478 || c.TURN.TCPPort != 3478 || c.TURN.TLSPort != 443 ||
		c.TURN.RelayPortMin != 50000 || c.TURN.RelayPortMax != 50999 || c.TURN.Host != "turn.example.com" || c.TURN.CredentialTTL != 2*time.Hour {
		t.Fatalf("TURN %+v TLS %+v", c.TURN, c.TLS)
	}
	if !c.NodeIPAuto || !slices.Equal(c.NodeIPs, []string{"203.0.113.7"}) || !slices.Equal(c.STUNServers, []string{"127.0.0.1:3478", "127.0.0.2:3478"}) {
		t.Fatalf("auto %v, node IPs %v, STUN servers %v", c.NodeIPAuto, c.NodeIPs, c.STUNServers)
	}
}

// TestConfigPrintMasksTURNSecret: the TURN secret mints credentials, so config print hides it.
func TestConfigPrintMasksTURNSecret(t *testing.T) {
	serveEnv(t, nil)
	var out bytes.Buffer
	if err := configPrint([]string{"--turn-secret", "do-not-print-me"}, &out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "do-not-print-me") || !strings.Contains(out.String(), "turn-secret: '****'") && !strings.Contains(out.String(), `turn-secret: "****"`) {
		t.Fatalf("config print:\n%s", out.String())
	}
}
