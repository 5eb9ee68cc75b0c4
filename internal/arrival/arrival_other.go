//go:build !linux

package arrival

import "syscall"

// Stamp: no stamps here.
func Stamp(syscall.RawConn) bool { return false }

// Read: no stamps here.
func Read([]byte) (int64, bool) { return 0, false }
