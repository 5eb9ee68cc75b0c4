package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/podium-sfu/podium/auth"
)

func token(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	defKey, defSecret := keysDefault()
	key := fs.String("key", defKey, "API key (the token's issuer) [PODIUM_API_KEY, else the first of PODIUM_KEYS]")
	secret := fs.String("secret", defSecret, "API secret [PODIUM_API_SECRET, else the first of PODIUM_KEYS]")
	joinURL := fs.String("url", envDefault("url", "http://127.0.0.1:7880"), "the server's address, for the join link printed on standard error [PODIUM_URL]")
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
	if err := parseFlags(fs, args); err != nil {
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
	if _, err := fmt.Fprintln(out, tok); err != nil {
		return err
	}
	if *roomName != "" { // for people; standard output stays the token alone, for scripts
		fmt.Fprintf(os.Stderr, "join link: %s/?token=%s\n", strings.TrimSuffix(*joinURL, "/"), tok)
	}
	return nil
}

// keysDefault is the key and secret `token` signs with unless told: PODIUM_API_KEY and
// PODIUM_API_SECRET, else the first pair of PODIUM_KEYS, so that one exported PODIUM_KEYS
// serves both `podium serve` and `podium token`.
func keysDefault() (key, secret string) {
	key, secret = envDefault("api-key", ""), envDefault("api-secret", "")
	if key != "" || secret != "" {
		return key, secret
	}
	for pair := range listItems(os.Getenv("PODIUM_KEYS")) {
		key, secret, _ = strings.Cut(pair, ":")
		return key, secret
	}
	return "", ""
}
