package main

import (
	"bytes"
	"errors"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// TestHelpAndBadFlags: -h prints a command's flags and exits 0; a bad flag is one line that
// names it and says where the flags are listed, not the whole list.
func TestHelpAndBadFlags(t *testing.T) {
	bin := podiumBinary(t)
	for _, cmd := range []string{"serve", "token", "load", "room list", "config print"} {
		var stdout, stderr bytes.Buffer
		c := exec.Command(bin, append(strings.Fields(cmd), "-h")...)
		c.Stdout, c.Stderr = &stdout, &stderr
		if err := c.Run(); err != nil {
			t.Errorf("podium %s -h: %v (%s)", cmd, err, stderr.String())
		}
		if !strings.Contains(stdout.String(), "  -") {
			t.Errorf("podium %s -h printed no flags on standard output: %q", cmd, stdout.String())
		}
	}
	var stderr bytes.Buffer
	c := exec.Command(bin, "serve", "--no-such-flag")
	c.Stderr = &stderr
	var exit *exec.ExitError
	if err := c.Run(); !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("a bad flag: %v", err)
	}
	if got := strings.TrimSpace(stderr.String()); strings.Count(got, "\n") > 0 || !strings.Contains(got, "-no-such-flag") || !strings.Contains(got, "podium serve -h") {
		t.Fatalf("a bad flag printed %q", got)
	}
}

// TestBusyPortNamesItsFlag: a port another program holds is reported with the flag to change.
func TestBusyPortNamesItsFlag(t *testing.T) {
	bin := podiumBinary(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	busy := l.Addr().(*net.TCPAddr).Port
	var stderr bytes.Buffer
	c := exec.Command(bin, "serve", "--http-port", strconv.Itoa(busy), "--udp-port", "0", "--tcp-port", "-1")
	c.Stderr = &stderr
	if err := c.Run(); err == nil {
		t.Fatal("serve started on a busy port")
	}
	if want := "--http-port " + strconv.Itoa(busy) + ": the port is in use"; !strings.Contains(stderr.String(), want) {
		t.Fatalf("stderr %q lacks %q", stderr.String(), want)
	}
}
