package fastpath

import "github.com/pion/srtp/v3"

// Every SRTP context Podium's path uses is made here, from a connection's Keys: one per stream
// direction and owner (a down track's stream, the read path, the feedback to a publisher),
// never shared with pion's session (see Transport).

// LocalContext is a context that encrypts what Podium sends under the keys.
func (k *Keys) LocalContext() (*srtp.Context, error) {
	return srtp.CreateContext(k.Key, k.Salt, k.Profile)
}

// RemoteContext is a context that decrypts what the client sends under the keys: with replay
// windows as wide as pion's (Firefox probes with old packets, retransmissions arrive late),
// and cryptex (RFC 9335, encrypted header extensions) when the client uses it: pion negotiates
// it, and a packet without it still decrypts.
func (k *Keys) RemoteContext() (*srtp.Context, error) {
	return srtp.CreateContext(k.RemoteKey, k.RemoteSalt, k.Profile,
		srtp.SRTPReplayProtection(1024), srtp.SRTCPReplayProtection(1024), srtp.Cryptex(srtp.CryptexModeEnabled))
}

// lazyContext is a context made with the first packet under the keys in force, and made again
// should they change. Its owner serialises the calls.
type lazyContext struct {
	keys *Keys // the keys ctx was made with
	ctx  *srtp.Context
}

// local is the encrypting context for keys; nil when they make none.
func (c *lazyContext) local(keys *Keys) *srtp.Context { return c.get(keys, false) }

// remote is the decrypting context for keys; nil when they make none.
func (c *lazyContext) remote(keys *Keys) *srtp.Context { return c.get(keys, true) }

func (c *lazyContext) get(keys *Keys, remote bool) *srtp.Context {
	if c.keys == keys {
		return c.ctx
	}
	var ctx *srtp.Context
	var err error
	if remote {
		ctx, err = keys.RemoteContext()
	} else {
		ctx, err = keys.LocalContext()
	}
	if err != nil {
		return nil
	}
	c.ctx, c.keys = ctx, keys
	return ctx
}
