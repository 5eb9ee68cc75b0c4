package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"strings"
	"testing"

	"github.com/podium-sfu/podium/client"
	"github.com/podium-sfu/podium/server"
)

// sdkOptions are the Go SDK's options for a test's participant on n: loopback, and over
// --dev-tls (OverTLS) trust in n's own certificate alone.
func sdkOptions(n *server.Node) client.Options {
	o := client.Options{Loopback: true}
	if cert := n.TLSCertificate(); cert != nil {
		pool := x509.NewCertPool()
		pool.AddCert(cert)
		o.TLS = &tls.Config{RootCAs: pool}
	}
	return o
}

// TestSuiteScheme: the suite's nodes serve what EnvTLS asks, and a page of one is a secure
// context either way (the camera needs one).
func TestSuiteScheme(t *testing.T) {
	RequireBrowser(t)
	n := startDevNode(t)
	want := "http://"
	if OverTLS() {
		want = "https://"
	}
	if !strings.HasPrefix(n.HTTPURL(), want) {
		t.Fatalf("node at %s with %s=%q", n.HTTPURL(), EnvTLS, os.Getenv(EnvTLS))
	}
	page := NewBrowser(t).NewPage(t, n.HTTPURL()+"/examples/quickstart.html")
	if !MustEval[bool](t, page, `window.isSecureContext && !!navigator.mediaDevices`) {
		t.Errorf("%s is not a secure context", n.HTTPURL())
	}
}
