package participant

import "errors"

// Errors the signalling layer maps to protocol error codes.
var (
	ErrTooManyRequests = errors.New("too many requests waiting: this one was dropped")
	ErrSuperseded      = errors.New("a newer publisher offer replaced this one before it was applied")
	ErrRoomFull        = errors.New("room is full")
	ErrRoomClosed      = errors.New("room is closed")
	ErrNotFound        = errors.New("not found")
	ErrForbidden       = errors.New("permission denied")
	ErrLimit           = errors.New("limit reached")
	ErrBadRequest      = errors.New("bad request")
	ErrConflict        = errors.New("conflict")
	ErrShuttingDown    = errors.New("server is shutting down")
	ErrWrongState      = errors.New("not allowed in the current state")
)
