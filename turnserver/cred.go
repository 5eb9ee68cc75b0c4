// Package turnserver is Podium's embedded TURN server (pion/turn) and the short-lived
// credentials it accepts: the TURN REST scheme, which coturn's use-auth-secret accepts too, so
// that a participant's credentials work on the embedded server and on an external one alike.
package turnserver

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // the scheme is HMAC-SHA1, as coturn checks it
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/pion/turn/v5"
)

// Credentials are one participant's TURN credentials.
type Credentials struct{ Username, Password string }

// NewCredentials derives a participant's credentials, valid until expiry: the username is
// "<expiry unix seconds>:<identity>" and the password base64(HMAC-SHA1(secret, username)).
// Any server that knows the secret checks them without asking Podium.
func NewCredentials(secret, identity string, expiry time.Time) Credentials {
	username := strconv.FormatInt(expiry.Unix(), 10) + ":" + identity
	return Credentials{Username: username, Password: password(secret, username)}
}

func password(secret, username string) string {
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// authHandler accepts the credentials NewCredentials derives until they expire. pion's own
// handler for the scheme reads the wall clock and logs every refusal as an error; this one
// takes the clock and reports refusals to the caller (a flood of bad credentials must not
// flood the log).
func authHandler(secret string, now func() time.Time, refused func(username, reason string)) turn.AuthHandler {
	return func(ra *turn.RequestAttributes) (string, []byte, bool) {
		expiry, identity, ok := strings.Cut(ra.Username, ":")
		until, err := strconv.ParseInt(expiry, 10, 64)
		switch {
		case !ok || err != nil || identity == "":
			refused(ra.Username, "not <expiry>:<identity>")
			return "", nil, false
		case now().Unix() > until:
			refused(ra.Username, "expired")
			return "", nil, false
		}
		// A wrong password fails the message-integrity check against this key.
		return identity, turn.GenerateAuthKey(ra.Username, ra.Realm, password(secret, ra.Username)), true
	}
}
