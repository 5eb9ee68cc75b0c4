package fastpath

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"hash"
	"sync"
	"sync/atomic"

	"github.com/pion/dtls/v3"
	"github.com/pion/dtls/v3/pkg/crypto/prf"
	"github.com/pion/dtls/v3/pkg/protocol/extension"
	"github.com/pion/dtls/v3/pkg/protocol/handshake"
	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"
)

// Podium encrypts subscribers' media itself (see Transport), so it needs the SRTP master keys of
// each subscriber connection. pion does not export them; it exports what derives them: the DTLS
// master secret (its key log) and the server's hello (random, cipher suite, SRTP profile). When
// Podium is the DTLS server, which it asks to be, KeyCapture rebuilds RFC 5764's keying material
// from those exactly as DTLS's exporter does. When anything is missing (Podium was the DTLS
// client, an unknown suite), there are no keys and media takes pion's own path. The key log
// never leaves the process: KeyCapture keeps the secret only until the keys are derived.

// dtlsSuites are the cipher suites Podium lets DTLS negotiate (pion's defaults) with the hash of
// each one's PRF: only these can be exported.
var dtlsSuites = []struct {
	id   dtls.CipherSuiteID
	hash func() hash.Hash
}{
	{dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, sha256.New},
	{dtls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, sha256.New},
	{dtls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, sha256.New},
	{dtls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, sha256.New},
	{dtls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, sha256.New}, // TLS 1.2 PRF: SHA-256
	{dtls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, sha256.New},
	{dtls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, sha512.New384},
	{dtls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, sha512.New384},
}

func DTLSSuiteIDs() []dtls.CipherSuiteID {
	ids := make([]dtls.CipherSuiteID, len(dtlsSuites))
	for i, s := range dtlsSuites {
		ids[i] = s.id
	}
	return ids
}

func suiteHash(id uint16) func() hash.Hash {
	for _, s := range dtlsSuites {
		if uint16(s.id) == id {
			return s.hash
		}
	}
	return nil
}

// Keys are one connection's SRTP master keys and salts: Podium's, which it encrypts
// with, and the remote's, which Podium decrypts the subscriber's RTCP with (read.go).
type Keys struct {
	Profile               srtp.ProtectionProfile
	Key, Salt             []byte
	RemoteKey, RemoteSalt []byte
}

// KeyCapture collects one connection's handshake facts; its Write is the DTLS key log.
type KeyCapture struct {
	mu           sync.Mutex
	serverRandom []byte
	hash         func() hash.Hash
	profile      srtp.ProtectionProfile
	clientRandom []byte
	master       []byte
	OnKeys       func(*Keys) // when set, called once, when the keys are known (tests)
	done         bool
	keys         atomic.Pointer[Keys]
}

// Keys are the keys derived, nil before the handshake completes or when they cannot be.
func (k *KeyCapture) Keys() *Keys { return k.keys.Load() }

// Capture makes se, a setting engine of one connection, hand k what derives the keys.
func (k *KeyCapture) Capture(se *webrtc.SettingEngine) {
	se.SetDTLSKeyLogWriter(k)
	se.SetDTLSServerHelloMessageHook(k.ServerHello)
}

// ServerHello records what Podium's ServerHello carries; the message goes out unchanged.
func (k *KeyCapture) ServerHello(m handshake.MessageServerHello) handshake.Message {
	k.mu.Lock()
	defer k.mu.Unlock()
	r := m.Random.MarshalFixed()
	k.serverRandom = r[:]
	k.hash = nil
	if m.CipherSuiteID != nil {
		k.hash = suiteHash(*m.CipherSuiteID)
	}
	k.profile = 0
	for _, x := range m.Extensions {
		if u, ok := x.(*extension.UseSRTP); ok && len(u.ProtectionProfiles) == 1 {
			k.profile = srtp.ProtectionProfile(u.ProtectionProfiles[0])
		}
	}
	return &m
}

// Write takes key log lines: "CLIENT_RANDOM <client random> <master secret>".
func (k *KeyCapture) Write(p []byte) (int, error) {
	for _, line := range bytes.Split(p, []byte("\n")) {
		f := bytes.Fields(line)
		if len(f) != 3 || string(f[0]) != "CLIENT_RANDOM" {
			continue
		}
		cr, err1 := hex.DecodeString(string(f[1]))
		ms, err2 := hex.DecodeString(string(f[2]))
		if err1 != nil || err2 != nil {
			continue
		}
		k.mu.Lock()
		k.clientRandom, k.master = cr, ms
		k.mu.Unlock()
		k.derive()
	}
	return len(p), nil
}

func (k *KeyCapture) derive() {
	k.mu.Lock()
	if k.done || k.serverRandom == nil || k.hash == nil || k.profile == 0 || k.master == nil {
		k.mu.Unlock()
		return
	}
	k.done = true
	x := exporter{master: k.master, clientRandom: k.clientRandom, serverRandom: k.serverRandom, hash: k.hash}
	profile, onKeys := k.profile, k.OnKeys
	k.master = nil // derived from here on: the secret is not kept
	k.mu.Unlock()
	defer clear(x.master)
	cfg := srtp.Config{Profile: profile}
	if err := cfg.ExtractSessionKeysFromDTLS(x, false); err != nil {
		return
	}
	keys := &Keys{Profile: profile, Key: cfg.Keys.LocalMasterKey, Salt: cfg.Keys.LocalMasterSalt,
		RemoteKey: cfg.Keys.RemoteMasterKey, RemoteSalt: cfg.Keys.RemoteMasterSalt}
	k.keys.Store(keys)
	if onKeys != nil {
		onKeys(keys)
	}
}

// exporter is DTLS 1.2's keying material exporter (RFC 5705) for a server: PRF(master secret,
// label, client random + server random).
type exporter struct {
	master, clientRandom, serverRandom []byte
	hash                               func() hash.Hash
}

func (x exporter) ExportKeyingMaterial(label string, context []byte, length int) ([]byte, error) {
	if len(context) != 0 {
		return nil, errors.New("sfu: exporter context unsupported")
	}
	seed := make([]byte, 0, len(label)+len(x.clientRandom)+len(x.serverRandom))
	seed = append(append(append(seed, label...), x.clientRandom...), x.serverRandom...)
	return prf.PHash(x.master, seed, length, x.hash)
}
