package fastpath

import (
	"bytes"
	"testing"

	"github.com/pion/rtp"
)

// TestLazyContext: a context lasts as long as its keys are in force (a second one would count
// the streams' rollover counters again), and is made anew when they change; what Podium's side
// encrypts, the other side of the same keys decrypts; keys that make no context make none.
func TestLazyContext(t *testing.T) {
	keys := testKeys()
	var c lazyContext
	enc := c.local(keys)
	if enc == nil || c.local(keys) != enc {
		t.Fatal("not one context for the keys in force")
	}
	plain, err := (&rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 1, SequenceNumber: 7}, Payload: []byte{1, 2, 3}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	wire, err := enc.EncryptRTP(nil, plain, nil)
	if err != nil {
		t.Fatal(err)
	}
	var r lazyContext
	client := &Keys{Profile: keys.Profile, RemoteKey: keys.Key, RemoteSalt: keys.Salt} // the client's view
	if got, err := r.remote(client).DecryptRTP(nil, wire, nil); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("the client's side decrypts %x (%v), want %x", got, err, plain)
	}
	renewed := *keys
	if c.local(&renewed) == enc {
		t.Error("the context outlived its keys")
	}
	if c.local(&Keys{}) != nil {
		t.Error("a context from keys without a profile")
	}
}
