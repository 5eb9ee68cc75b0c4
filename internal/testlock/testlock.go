// Package testlock lets the test binaries of heavy packages (real media over loopback, browsers,
// CPU and timing measurements) run one at a time while `go test ./...` runs the light packages
// beside them: on a small machine two heavy packages at once starve each other's timing bounds.
package testlock

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Main runs m holding the machine-wide heavy-test lock, and exits with its result. Call it from
// a package's TestMain.
func Main(m *testing.M) { os.Exit(Run(m)) }

// Run is Main for a TestMain with work of its own after the tests: it returns the exit code.
func Run(m *testing.M) int {
	unlock, err := acquire(filepath.Join(os.TempDir(), "podium-heavy-tests.lock"))
	if err != nil {
		// Without the lock the tests still run, only with less isolation.
		fmt.Fprintln(os.Stderr, "testlock:", err)
		unlock = func() {}
	}
	defer unlock()
	return m.Run()
}
