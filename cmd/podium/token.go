package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/podium-sfu/podium/auth"
)

func token(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	key := fs.String("key", envDefault("api-key", ""), "API key (the token's issuer) [PODIUM_API_KEY]")
	secret := fs.String("secret", envDefault("api-secret", ""), "API secret [PODIUM_API_SECRET]")
	roomName := fs.String("room", "", "room the token may join")
	identity := fs.String("identity", "", "participant identity (unique in the room)")
	name := fs.String("name", "", "display name")
	metadata := fs.String("metadata", "", "participant metadata")
	ttl := fs.Duration("ttl", 6*time.Hour, "validity")
	noPublish := fs.Bool("no-publish", false, "may not publish media")
	noSubscribe := fs.Bool("no-subscribe", false, "may not subscribe")
	noData := fs.Bool("no-data", false, "may not send data messages")
	hidden := fs.Bool("hidden", false, "not announced to others (recorders, monitors)")
	admin := fs.Bool("admin", false, "room admin, may list, create and close rooms")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		// flag stops at the first non-flag: whatever follows it would be silently ignored.
		return fmt.Errorf("token: unexpected argument %q (quote values that contain spaces)", fs.Arg(0))
	}
	if *key == "" || *secret == "" || *identity == "" {
		return errors.New("token: --key, --secret and --identity are required")
	}
	if *roomName == "" && !*admin {
		return errors.New("token: --room is required (or --admin for an API token)")
	}
	tok, err := auth.Mint(*key, *secret, auth.MintOptions{
		Identity: *identity, Name: *name, Metadata: *metadata, TTL: *ttl,
		Grant: auth.Grant{
			Room: *roomName, RoomJoin: *roomName != "", CanPublish: !*noPublish, CanSubscribe: !*noSubscribe,
			CanPublishData: !*noData, Hidden: *hidden, RoomAdmin: *admin, RoomList: *admin, RoomCreate: *admin,
		},
	})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, tok)
	return err
}
