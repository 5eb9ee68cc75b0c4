package e2e

import (
	"crypto/tls"
	"net/http"
	"os"
	"testing"

	"github.com/podium-sfu/podium/internal/servetest"
	"github.com/podium-sfu/podium/internal/testlock"
)

// The package's tests run real media and measure time: one heavy package at a time.
func TestMain(m *testing.M) {
	if OverTLS() {
		// The tests' HTTP calls (WHIP, the admin API) reach nodes whose certificates are
		// self-signed and made at their start; the Go SDK trusts each node's own (sdkOptions).
		http.DefaultTransport.(*http.Transport).TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	code := testlock.Run(m)
	servetest.Cleanup() // the podium binary built by podiumBinary
	os.Exit(code)
}
