// Command podium is the Podium SFU: `podium serve` runs a node, `podium token` mints an access
// token, `podium version` prints the version.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
)

const usage = `podium — a selective forwarding unit for WebRTC conferences

Usage:
  podium serve [flags]           run a server (no config file needed; see podium serve -h)
  podium token [flags]           print an access token (see podium token -h)
  podium load [flags]            load-test a server, or one started in-process
  podium room list|create|delete                  manage rooms through the server API
  podium participant list|remove|mute|update      manage a room's participants
  podium send-data [flags] ROOM JSON              send a data message to a room
  podium config print [flags]    the effective serve config and where each value came from
  podium health [--url URL]      ask the server on this machine whether it serves (exit 0: yes)
  podium version                 print the version

The API verbs take --url, --key and --secret (or PODIUM_URL, PODIUM_API_KEY, PODIUM_API_SECRET)
and --json; add -h to any of them for its flags.
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
	case "room":
		err = verb("room", roomVerbs(), os.Args[2:], os.Stdout)
	case "participant":
		err = verb("participant", participantVerbs(), os.Args[2:], os.Stdout)
	case "send-data":
		err = runAdmin("send-data", sendDataCommand(), os.Args[2:], os.Stdout)
	case "health":
		err = health(os.Args[2:], os.Stdout)
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
	if errors.Is(err, flag.ErrHelp) {
		return // the flags were printed, as asked
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "podium:", err)
		os.Exit(1)
	}
}
