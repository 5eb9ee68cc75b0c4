package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
)

// parseFlags parses a command's flags. -h prints them to standard output (help asked for is not
// an error); a bad flag is one line naming it and where to look, not the whole list.
func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(os.Stdout)
		fs.Usage()
		return err
	}
	if err != nil {
		return fmt.Errorf("%w (podium %s -h lists the flags)", err, fs.Name())
	}
	return nil
}

// portInUse names the flag of a port another program holds: "address already in use" alone
// does not say which of serve's ports to change.
func (o *serveOptions) portInUse(err error) error {
	var op *net.OpError
	if !errors.Is(err, syscall.EADDRINUSE) || !errors.As(err, &op) || op.Addr == nil {
		return err
	}
	_, port, _ := net.SplitHostPort(op.Addr.String())
	for _, p := range []struct {
		flag string
		v    int
		net  string
	}{{"http-port", o.cfg.HTTPPort, "tcp"}, {"tcp-port", o.cfg.TCPPort, "tcp"}, {"udp-port", o.cfg.UDPPort, "udp"}} {
		if fmt.Sprint(p.v) == port && (op.Net == "" || op.Net[:3] == p.net) {
			return fmt.Errorf("--%s %s: the port is in use (another podium?); choose another with --%s: %w", p.flag, port, p.flag, err)
		}
	}
	return fmt.Errorf("port %s is in use; see --http-port, --udp-port, --tcp-port and the TURN ports: %w", port, err)
}
