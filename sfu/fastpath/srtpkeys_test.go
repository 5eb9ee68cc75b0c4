package fastpath

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/dtls/v3/pkg/crypto/selfsign"
	"github.com/pion/srtp/v3"
)

// TestKeyCaptureMatchesDTLSExporter: the SRTP keys Podium rebuilds from the key log and its
// ServerHello are the keys DTLS's own exporter gives the server, for every suite and profile.
func TestKeyCaptureMatchesDTLSExporter(t *testing.T) {
	profiles := []dtls.SRTPProtectionProfile{dtls.SRTP_AEAD_AES_128_GCM, dtls.SRTP_AES128_CM_HMAC_SHA1_80}
	suites := []dtls.CipherSuiteID{dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		dtls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, dtls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA}
	for _, suite := range suites {
		for _, profile := range profiles {
			got, want := handshakeKeys(t, suite, profile)
			if got == nil {
				t.Fatalf("suite %v profile %v: no keys captured", suite, profile)
			}
			if got.Profile != srtp.ProtectionProfile(profile) || !bytes.Equal(got.Key, want.LocalMasterKey) ||
				!bytes.Equal(got.Salt, want.LocalMasterSalt) || !bytes.Equal(got.RemoteKey, want.RemoteMasterKey) ||
				!bytes.Equal(got.RemoteSalt, want.RemoteMasterSalt) {
				t.Errorf("suite %v profile %v: captured keys differ from the exporter's", suite, profile)
			}
		}
	}
}

// handshakeKeys runs a DTLS handshake on loopback with Podium's capture on the server side and
// returns what it captured and what the server's exporter says.
func handshakeKeys(t *testing.T, suite dtls.CipherSuiteID, profile dtls.SRTPProtectionProfile) (*Keys, srtp.SessionKeys) {
	t.Helper()
	cert, err := selfsign.GenerateSelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	lo := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}
	a, err := net.ListenUDP("udp4", lo)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := net.ListenUDP("udp4", lo)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	keys := make(chan *Keys, 1)
	capture := &KeyCapture{OnKeys: func(k *Keys) { keys <- k }}
	shared := []dtls.Option{dtls.WithCertificates(cert), dtls.WithInsecureSkipVerify(true),
		dtls.WithCipherSuites(suite), dtls.WithSRTPProtectionProfiles(profile),
		dtls.WithExtendedMasterSecret(dtls.RequireExtendedMasterSecret)}
	serverOpts := []dtls.ServerOption{dtls.WithKeyLogWriter(capture), dtls.WithServerHelloMessageHook(capture.ServerHello),
		dtls.WithClientAuth(dtls.RequireAnyClientCert)}
	clientOpts := []dtls.ClientOption{}
	for _, o := range shared {
		serverOpts = append(serverOpts, o)
		clientOpts = append(clientOpts, o)
	}
	server, err := dtls.ServerWithOptions(a, b.LocalAddr(), serverOpts...)
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	client, err := dtls.ClientWithOptions(b, a.LocalAddr(), clientOpts...)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- client.HandshakeContext(ctx) }()
	if err := server.HandshakeContext(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	state, ok := server.ConnectionState()
	if !ok {
		t.Fatal("no connection state")
	}
	want := srtp.Config{Profile: srtp.ProtectionProfile(profile)}
	if err := want.ExtractSessionKeysFromDTLS(&state, false); err != nil {
		t.Fatal(err)
	}
	select {
	case k := <-keys:
		return k, want.Keys
	default:
		return nil, want.Keys
	}
}
