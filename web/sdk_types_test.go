package web

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestSDKTypes type-checks the SDK's JSDoc with the TypeScript that web/sdk/check.sh installs
// (npm ci from web/sdk/package-lock.json); without node or that install it skips.
func TestSDKTypes(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("no node: run web/sdk/check.sh where node is installed")
	}
	tsc := filepath.Join("sdk", "node_modules", "typescript", "bin", "tsc")
	if _, err := os.Stat(tsc); err != nil {
		t.Skip("no TypeScript in web/sdk/node_modules: run web/sdk/check.sh (npm ci) first")
	}
	out, err := exec.Command(node, tsc, "-p", "sdk", "--noEmit").CombinedOutput()
	if err != nil {
		t.Fatalf("tsc -p web/sdk --noEmit: %v\n%s", err, out)
	}
}
