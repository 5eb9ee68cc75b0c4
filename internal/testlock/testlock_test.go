package testlock

import (
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// Two holders never overlap: the second waits until the first releases.
func TestAcquireIsExclusive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	unlock, err := acquire(path)
	if err != nil {
		t.Fatal(err)
	}
	var second atomic.Bool
	done := make(chan struct{})
	go func() {
		u, err := acquire(path) // a second open file description: flock treats it as another holder
		if err != nil {
			t.Error(err)
		} else {
			second.Store(true)
			u()
		}
		close(done)
	}()
	// Not a synchronisation: a bound on how long a broken lock would have to let it through.
	time.Sleep(100 * time.Millisecond)
	if second.Load() {
		t.Fatal("the second holder got the lock while the first held it")
	}
	unlock()
	<-done
	if !second.Load() {
		t.Fatal("the second holder never got the lock")
	}
}
