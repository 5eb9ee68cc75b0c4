package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// health asks a server on this machine whether it serves (GET /healthz): the container
// image's HEALTHCHECK, which has no curl.
func health(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("health", flag.ContinueOnError)
	def := "http://127.0.0.1:" + envDefault("http-port", "7880")
	url := fs.String("url", envDefault("health-url", def), "the server to ask; https is not verified (it is this machine's own server, whose certificate names its public host) [PODIUM_HEALTH_URL]")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	client := &http.Client{Timeout: *timeout, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // #nosec: a liveness probe of this host's own server
	}}
	resp, err := client.Get(strings.TrimSuffix(*url, "/") + "/healthz")
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health: %s answered %d", *url, resp.StatusCode)
	}
	_, err = fmt.Fprintln(out, strings.TrimSpace(string(body)))
	return err
}
