//go:build linux

package arrival

import (
	"encoding/binary"
	"syscall"

	"golang.org/x/sys/unix"
)

// Stamp asks the kernel to stamp each datagram of the socket c with its time of arrival, which
// then comes as a control message of the read (recvmsg). It reports whether the kernel agreed.
func Stamp(c syscall.RawConn) bool {
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	}); err != nil {
		return false
	}
	return serr == nil
}

// Read finds the time of arrival (unix ns) among a datagram's control messages, without
// allocating; false when there is none. 32-bit systems, whose timespec is smaller, have none.
func Read(oob []byte) (int64, bool) {
	for len(oob) > 0 {
		h, data, rest, err := unix.ParseOneSocketControlMessage(oob)
		if err != nil {
			return 0, false
		}
		if h.Level == unix.SOL_SOCKET && h.Type == unix.SCM_TIMESTAMPNS && len(data) >= 16 {
			return int64(binary.NativeEndian.Uint64(data))*1e9 + int64(binary.NativeEndian.Uint64(data[8:])), true
		}
		oob = rest
	}
	return 0, false
}
