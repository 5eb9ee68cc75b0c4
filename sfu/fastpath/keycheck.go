package fastpath

import "sync/atomic"

// The self-check of the keys Podium derives (srtpkeys.go). They are tested against DTLS's own
// exporter in CI (TestKeyCaptureMatchesDTLSExporter), but a connection's keys are checked at
// run time as well: what the client sends must decrypt with them. When the first
// KeyCheckFailures of its packets on Podium's read path (RTCP, and a publisher's RTP once taken
// over) fail to authenticate and none has succeeded, the keys are taken for wrong and the
// connection is handed to pion for the rest of its life (abandon): nothing decrypts on Podium's
// read path any more, and its down tracks write through pion's context.
//
// That hand-over breaks the rule of one context per stream (Transport), and is safe only
// because the keys are wrong: what Podium encrypted with them is noise under another key, so
// pion's context, starting from rollover counter 0, uses no index of the real key twice. Should
// the keys be right after all (the client's first packets failing for another reason, say
// forged ones from its address), two things keep pion's context off the indexes Podium used:
// its numbering goes on from where Podium's stopped, which is safe while no stream has wrapped
// (else the connection stays Podium's, with an error logged), and the down tracks forget what
// they sent, so that no retransmission repeats an index through pion.

// KeyCheckFailures is how many of the client's packets may fail to decrypt, none having
// succeeded, before the keys are taken for wrong. They are authenticated: with the right keys,
// the first of them decrypts.
const KeyCheckFailures = 5

// keyCheck is a connection's self-check state.
type keyCheck struct {
	passed   atomic.Bool  // a packet decrypted: the keys are right
	failures atomic.Int32 // packets that did not, before one did
}

// keysPassed records a packet (RTCP, or a publisher's RTP) that decrypted with the keys.
func (t *Transport) keysPassed() {
	if !t.check.passed.Load() {
		t.check.passed.Store(true)
	}
}

// keysFailed records a packet that did not, and abandons the keys at the limit.
func (t *Transport) keysFailed(keys *Keys) {
	if t.check.passed.Load() || t.check.failures.Add(1) != KeyCheckFailures {
		return
	}
	t.abandon(keys)
}

// abandon hands the connection to pion: its keys failed the self-check.
func (t *Transport) abandon(keys *Keys) {
	t.tracksMu.Lock() // no down track binds meanwhile
	var streams []*Stream
	if m := t.tracks.Load(); m != nil {
		for _, s := range *m {
			streams = append(streams, s)
		}
	}
	wrapped := false
	for _, s := range streams {
		wrapped = wrapped || s.wrapped()
	}
	moved := false
	if !wrapped && !t.check.passed.Load() {
		// The keys first, then the record: a packet numbered after the record is cleared
		// finds them gone and goes through pion.
		moved = t.keys.CompareAndSwap(keys, nil)
		if moved {
			for _, s := range streams {
				s.track.ForgetSent()
			}
		}
	}
	t.tracksMu.Unlock()
	switch {
	case moved:
		t.log.Warn("the SRTP keys Podium derived do not decrypt the client's first packets: media of this connection goes through pion from now on",
			"failures", KeyCheckFailures)
	case wrapped:
		t.log.Error("the SRTP keys Podium derived do not decrypt the client's first packets, but a stream has wrapped: the connection stays on Podium's path (pion's would reuse its indexes)")
	}
}
