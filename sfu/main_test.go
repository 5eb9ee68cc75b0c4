package sfu

import (
	"testing"

	"github.com/podium-sfu/podium/internal/testlock"
)

// The package's tests run real media and measure time: one heavy package at a time.
func TestMain(m *testing.M) { testlock.Main(m) }
