// Command podium is the Podium SFU: `podium serve` runs a node, `podium token` mints an access
// token, `podium version` prints the version.
package main

import (
	"fmt"
	"os"
)

const usage = `podium — a selective forwarding unit for WebRTC conferences

Usage:
  podium serve   [flags]   run a server (no config file needed; see podium serve -h)
  podium token   [flags]   print an access token (see podium token -h)
  podium load    [flags]   load-test a server, or one started in-process (see podium load -h)
  podium config print [flags]
                           print the effective serve config: flags > PODIUM_* > --config file > defaults
  podium version           print the version
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:])
	case "token":
		err = token(os.Args[2:], os.Stdout)
	case "load":
		err = load(os.Args[2:], os.Stdout)
	case "load-sink": // the paced floor's receivers, started by `podium load` (not for users)
		err = loadSink(os.Args[2:])
	case "config":
		err = config(os.Args[2:], os.Stdout)
	case "version":
		fmt.Println(versionString())
	case "-h", "--help", "help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "podium: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "podium:", err)
		os.Exit(1)
	}
}
