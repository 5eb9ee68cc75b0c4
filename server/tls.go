package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	"golang.org/x/crypto/acme/autocert"
)

// TLS makes the HTTP port HTTPS, and the signalling WebSocket wss: in one of three ways, or
// none (the zero value: plain HTTP, for a node behind a TLS-terminating proxy or on loopback).
type TLS struct {
	// CertFile and KeyFile are a PEM certificate (with its chain) and its key.
	CertFile, KeyFile string
	// Domain has the certificate for this name obtained and renewed by ACME (Let's Encrypt),
	// answering the CA's TLS-ALPN-01 challenge on the HTTP port, which the CA reaches as 443.
	Domain string
	// ACMECacheDir keeps the ACME account and certificates across restarts (default
	// $XDG_CACHE_HOME/podium/acme); without a cache each start asks for a new certificate and
	// soon meets the CA's rate limits.
	ACMECacheDir string
	// ACMEEmail is given to the CA for its notices; optional.
	ACMEEmail string
	// Dev serves a self-signed certificate made at start (kept in memory), for a browser on the
	// LAN to have a secure context (camera and microphone need one) after accepting a warning.
	Dev bool
}

func (t TLS) on() bool { return t.CertFile != "" || t.KeyFile != "" || t.Domain != "" || t.Dev }

func (t TLS) check() error {
	ways := 0
	for _, on := range []bool{t.CertFile != "" || t.KeyFile != "", t.Domain != "", t.Dev} {
		if on {
			ways++
		}
	}
	switch {
	case ways > 1:
		return errors.New("tls: choose one of a certificate file, an ACME domain and a dev certificate")
	case (t.CertFile == "") != (t.KeyFile == ""):
		return errors.New("tls: a certificate file needs its key file, and the other way round")
	}
	return nil
}

// nodeTLS is what a node serves TLS with.
type nodeTLS struct {
	config *tls.Config
	acme   *autocert.Manager // with Domain
	dev    *x509.Certificate // with Dev
}

// tlsConfig builds the node's TLS config. names are the names and addresses a dev
// certificate covers.
func (t TLS) tlsConfig(names []string) (*nodeTLS, error) {
	switch {
	case t.CertFile != "":
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls: %w", err)
		}
		return &nodeTLS{config: &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}}, nil
	case t.Domain != "":
		dir := t.ACMECacheDir
		if dir == "" {
			base, err := os.UserCacheDir()
			if err != nil {
				return nil, fmt.Errorf("tls: no ACME cache directory: %w", err)
			}
			dir = filepath.Join(base, "podium", "acme")
		}
		m := &autocert.Manager{Prompt: autocert.AcceptTOS, Cache: autocert.DirCache(dir),
			HostPolicy: autocert.HostWhitelist(t.Domain), Email: t.ACMEEmail}
		cfg := m.TLSConfig() // with acme-tls/1 for the TLS-ALPN-01 challenge
		cfg.MinVersion = tls.VersionTLS12
		return &nodeTLS{config: cfg, acme: m}, nil
	case t.Dev:
		cert, err := devCertificate(names, time.Now(), 30*24*time.Hour)
		if err != nil {
			return nil, err
		}
		return &nodeTLS{config: &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}, dev: cert.Leaf}, nil
	}
	return nil, nil
}

// devCertificate makes a self-signed certificate for names (host names or IP addresses),
// valid for the given time from now.
func devCertificate(names []string, now time.Time, valid time.Duration) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{Organization: []string{"Podium dev"}, CommonName: "podium dev certificate"},
		NotBefore:    now.Add(-time.Hour), NotAfter: now.Add(valid),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		// Its own CA, so that a test (or a browser told to) can trust it as a root.
		IsCA: true, BasicConstraintsValid: true,
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tls: dev certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// devNames are what a dev certificate covers: localhost, the bind address (every interface's
// for 0.0.0.0) and the node IPs.
func devNames(bind string, nodeIPs []string) []string {
	names := append([]string{"localhost", "127.0.0.1", "::1"}, nodeIPs...)
	if ip := net.ParseIP(bind); ip != nil && !ip.IsUnspecified() {
		if !slices.Contains(names, bind) {
			names = append(names, bind)
		}
		return names
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() {
			names = append(names, ipn.IP.String())
		}
	}
	return names
}

// TLSCertificate is the self-signed certificate a node with TLS.Dev serves (nil otherwise),
// for a client to trust or a person to compare fingerprints with.
func (n *Node) TLSCertificate() *x509.Certificate {
	if n.tls == nil {
		return nil
	}
	return n.tls.dev
}
