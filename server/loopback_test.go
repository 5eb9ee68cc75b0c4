package server

import (
	"os"

	"github.com/podium-sfu/podium/sfu"
)

// sfuLoopback is the media config of the tests' nodes. PODIUM_FAST_PATH=0 runs them with
// Podium's own media path off (sfu.Config.DisableFastPath), as `podium serve --fast-path=false`.
func sfuLoopback() sfu.Config {
	return sfu.Config{LoopbackOnly: true, DisableFastPath: os.Getenv("PODIUM_FAST_PATH") == "0"}
}
