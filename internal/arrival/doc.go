// Package arrival asks the kernel for each UDP datagram's time of arrival (SO_TIMESTAMPNS) and
// reads it back, so that a reader that gets to a packet late (busy, or short of CPU) still
// reports when the packet came: the server in its feedback to publishers, the Go SDK in its
// feedback to the server. Elsewhere than Linux there are no stamps; callers use the time of
// the read.
package arrival
