package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/pion/turn/v5"

	"github.com/podium-sfu/podium/client"
	"github.com/podium-sfu/podium/turnserver"
)

// pool trusts one certificate as a root.
func pool(cert *x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(cert)
	return p
}

// joinOverWSS joins the node with a client that trusts roots, and fails the test unless it can.
func joinOverWSS(t *testing.T, n *Node, roots *x509.CertPool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, n.URL(), token(t, "secure", "alice", nil), client.Options{Loopback: true, TLS: &tls.Config{RootCAs: roots}})
	if err != nil {
		t.Fatalf("join over %s: %v", n.URL(), err)
	}
	_ = c.Close()
}

// TestDevTLSServesHTTPSAndWSS: --dev-tls makes a certificate at start; a client that trusts it
// gets the app over https and joins over wss, and one that does not is refused.
func TestDevTLSServesHTTPSAndWSS(t *testing.T) {
	n := startNodeWith(t, func(c *Config) { c.TLS.Dev = true })
	cert := n.TLSCertificate()
	if cert == nil || n.URL()[:6] != "wss://" || n.HTTPURL()[:8] != "https://" {
		t.Fatalf("certificate %v, URLs %s %s", cert, n.URL(), n.HTTPURL())
	}
	if err := cert.VerifyHostname("127.0.0.1"); err != nil {
		t.Errorf("the dev certificate does not cover the bind address: %v", err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool(cert)}}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Get(n.HTTPURL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body) // read to the end, so that the connection is kept
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil {
		t.Fatalf("GET / over https: %d, TLS %v", resp.StatusCode, resp.TLS != nil)
	}
	// The connection cap sees a kept-alive TLS connection as idle, which it may close for a
	// new client at the cap.
	eventually(t, 5*time.Second, "the keep-alive counted idle", func() bool { return n.conns.Stats().Idle == 1 })
	joinOverWSS(t, n, pool(cert))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var unknown x509.UnknownAuthorityError
	if _, err := client.Connect(ctx, n.URL(), token(t, "secure", "mallory", nil), client.Options{Loopback: true}); !errors.As(err, &unknown) {
		t.Fatalf("a client without the certificate: %v, want an unknown authority", err)
	}
}

// TestTLSFromFiles serves a certificate and key read from PEM files.
func TestTLSFromFiles(t *testing.T) {
	cert, err := devCertificate([]string{"127.0.0.1"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writePEM(t, certFile, cert, false)
	writePEM(t, keyFile, cert, true)
	n := startNodeWith(t, func(c *Config) { c.TLS.CertFile, c.TLS.KeyFile = certFile, keyFile })
	joinOverWSS(t, n, pool(cert.Leaf))
}

// TestACMEServesFromItsManager: with --tls-domain the handshake asks the ACME manager, which
// here finds the domain's certificate in its cache (no CA is reached), refuses other names, and
// offers the TLS-ALPN-01 challenge's protocol.
func TestACMEServesFromItsManager(t *testing.T) {
	const domain = "podium.test"
	cert, err := devCertificate([]string{domain}, time.Now(), 90*24*time.Hour) // far from renewal
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writePEM(t, filepath.Join(dir, domain), cert, true, false) // autocert's cache: key, then chain
	n := startNodeWith(t, func(c *Config) { c.TLS.Domain, c.TLS.ACMECacheDir = domain, dir })
	if n.tls.acme == nil || !slices.Contains(n.tls.config.NextProtos, "acme-tls/1") {
		t.Fatalf("no ACME manager, or no TLS-ALPN-01 (protocols %q)", n.tls.config.NextProtos)
	}
	addr := n.listener.Addr().String()
	conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: domain, RootCAs: pool(cert.Leaf)})
	if err != nil {
		t.Fatalf("handshake for %s: %v", domain, err)
	}
	served := conn.ConnectionState().PeerCertificates[0]
	_ = conn.Close()
	if !served.Equal(cert.Leaf) {
		t.Fatal("the handshake did not serve the manager's certificate")
	}
	if conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "other.test", RootCAs: pool(cert.Leaf)}); err == nil {
		_ = conn.Close()
		t.Fatal("a handshake for a name not configured succeeded")
	}
}

func TestTLSConfigRefused(t *testing.T) {
	for name, tc := range map[string]TLS{
		"two ways":           {Dev: true, Domain: "podium.test"},
		"a cert without key": {CertFile: "cert.pem"},
		"missing files":      {CertFile: "/nonexistent/cert.pem", KeyFile: "/nonexistent/key.pem"},
	} {
		if n, err := Start(Config{Media: sfuLoopback(), TCPPort: -1, TLS: tc}); err == nil {
			_ = n.Shutdown(context.Background())
			t.Errorf("%s: started", name)
		}
	}
}

// TestTURNOverTLS: the embedded TURN server's TLS port serves the node's certificate, and a
// TURN client that trusts it allocates through it.
func TestTURNOverTLS(t *testing.T) {
	n := startNodeWith(t, func(c *Config) {
		c.TLS.Dev = true
		c.TURN = TURN{Embedded: true, UDPPort: -1, TCPPort: -1, TLSPort: 0, Secret: turnSecret}
	})
	tc, err := tls.Dial("tcp", n.TURNServer().TLSAddr().String(), &tls.Config{RootCAs: pool(n.TLSCertificate()), ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	conn := turn.NewSTUNConn(tc)
	defer conn.Close()
	creds := turnserver.NewCredentials(turnSecret, "alice", time.Now().Add(time.Hour))
	addr := n.TURNServer().TLSAddr().String()
	cl, err := turn.NewClient(&turn.ClientConfig{STUNServerAddr: addr, TURNServerAddr: addr, Conn: conn, Username: creds.Username, Password: creds.Password})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.Listen(); err != nil {
		t.Fatal(err)
	}
	relay, err := cl.Allocate()
	if err != nil {
		t.Fatalf("allocate over TLS: %v", err)
	}
	_ = relay.Close()
}

// writePEM writes the certificate's key (key) and/or its certificate (cert), in that order.
func writePEM(t *testing.T, path string, c tls.Certificate, parts ...bool) {
	t.Helper()
	var out []byte
	for _, key := range parts {
		if key {
			der, err := x509.MarshalECPrivateKey(c.PrivateKey.(*ecdsa.PrivateKey))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})...)
		} else {
			out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]})...)
		}
	}
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
}
