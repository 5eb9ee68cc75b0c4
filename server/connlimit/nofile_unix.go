//go:build unix

package connlimit

import "syscall"

// NoFile is the process's soft limit on open descriptors (RLIMIT_NOFILE); 0 when unknown.
func NoFile() uint64 {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0
	}
	return r.Cur
}
