//go:build unix

package testlock

import (
	"os"
	"syscall"
)

// acquire takes an exclusive flock on path, waiting for it; the kernel releases it if the
// process dies, so a crashed test binary never leaves the others waiting.
func acquire(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}
