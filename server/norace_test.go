//go:build !race

package server

// raceEnabled: the race detector slows the packet path several times; timing bounds widen.
const raceEnabled = false
