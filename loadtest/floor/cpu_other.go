//go:build !linux

package floor

import "time"

// threadCPU is not available here: callers fall back to elapsed time.
func threadCPU() (time.Duration, bool) { return 0, false }
