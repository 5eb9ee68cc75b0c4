package loadtest

import (
	"testing"

	"github.com/podium-sfu/podium/internal/testlock"
)

// The package's tests run a server and simulated participants: one heavy package at a time.
func TestMain(m *testing.M) { testlock.Main(m) }
