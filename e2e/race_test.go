//go:build race

package e2e

// raceEnabled: under the race detector the in-process server is several times slower, and
// Chromium's upstream estimate then takes tens of seconds to re-enable a layer; the timing pass of
// CI (without -race) runs what depends on it.
const raceEnabled = true
