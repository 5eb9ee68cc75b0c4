package client

import (
	"encoding/binary"
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// kernelStamps asks the kernel to stamp each datagram with its time of arrival on c.
func kernelStamps(c *net.UDPConn) bool {
	raw, err := c.SyscallConn()
	if err != nil {
		return false
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	}); err != nil {
		return false
	}
	return serr == nil
}

// kernelStamp finds the time of arrival in a datagram's control messages, without allocating.
func kernelStamp(oob []byte) (time.Time, bool) {
	for len(oob) > 0 {
		h, data, rest, err := unix.ParseOneSocketControlMessage(oob)
		if err != nil {
			return time.Time{}, false
		}
		// A 64-bit timespec; 32-bit systems fall back to the time of the read.
		if h.Level == unix.SOL_SOCKET && h.Type == unix.SCM_TIMESTAMPNS && len(data) >= 16 {
			sec, nsec := binary.NativeEndian.Uint64(data), binary.NativeEndian.Uint64(data[8:])
			return time.Unix(int64(sec), int64(nsec)), true
		}
		oob = rest
	}
	return time.Time{}, false
}
