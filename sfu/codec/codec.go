// Package codec inspects RTP payloads on the SFU's forwarding path: VP8
// payload descriptors (RFC 7741), H.264 keyframes (RFC 6184) and RFC 6464
// audio levels.
//
// Every function here runs once per forwarded packet, so none of them
// allocates: results are returned by value and errors are constants.
package codec

// Error is the type of the errors returned by this package. It is a string
// type so that the errors can be constants and returning one never allocates.
type Error string

func (e Error) Error() string { return string(e) }

const (
	// ErrEmptyPayload is returned for a zero-length payload.
	ErrEmptyPayload Error = "codec: empty payload"
	// ErrShortVP8Descriptor is returned when the payload ends inside the
	// VP8 payload descriptor.
	ErrShortVP8Descriptor Error = "codec: VP8 payload descriptor truncated"
	// ErrNoVP8Bitstream is returned when a VP8 payload descriptor is not
	// followed by at least one byte of VP8 bitstream, which RFC 7741 requires.
	ErrNoVP8Bitstream Error = "codec: VP8 payload has no bitstream after the descriptor"
)
