package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/podium-sfu/podium/api"
	"github.com/podium-sfu/podium/protocol"
)

// adminCommand is one verb of `podium room|participant|send-data`: its flags are the
// connection's plus its own; run gets the client and the arguments after the flags.
type adminCommand struct {
	usage string
	flags func(fs *flag.FlagSet)
	run   func(ctx context.Context, c *api.Client, args []string, out *adminOutput) error
}

// adminOutput writes tables for people, or JSON for scripts (--json).
type adminOutput struct {
	w    io.Writer
	json bool
}

func (o *adminOutput) value(v any, table func(tw *tabwriter.Writer)) error {
	if o.json {
		enc := json.NewEncoder(o.w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(o.w, 2, 4, 2, ' ', 0)
	table(tw)
	return tw.Flush()
}

// done reports a call with nothing to show.
func (o *adminOutput) done(what string) error {
	if o.json {
		_, err := fmt.Fprintln(o.w, `{"ok":true}`)
		return err
	}
	_, err := fmt.Fprintln(o.w, what)
	return err
}

// runAdmin parses the connection flags and the verb's, then runs it with a bounded time.
func runAdmin(name string, cmd adminCommand, args []string, w io.Writer) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	url := fs.String("url", envDefault("url", "http://127.0.0.1:7880"), "server URL (http(s):// or ws(s)://) [PODIUM_URL]")
	key := fs.String("key", envDefault("api-key", ""), "API key [PODIUM_API_KEY]")
	secret := fs.String("secret", envDefault("api-secret", ""), "API secret [PODIUM_API_SECRET]")
	asJSON := fs.Bool("json", false, "print JSON (for scripts) instead of a table")
	timeout := fs.Duration("timeout", 15*time.Second, "give up after this long")
	if cmd.flags != nil {
		cmd.flags(fs)
	}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: podium %s %s\n", name, cmd.usage)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	c, err := api.New(*url, *key, *secret)
	if err != nil {
		return fmt.Errorf("%s: %w (set --key and --secret, or PODIUM_API_KEY and PODIUM_API_SECRET)", name, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	return cmd.run(ctx, c, fs.Args(), &adminOutput{w: w, json: *asJSON})
}

// verb dispatches `podium <noun> <verb> ...`.
func verb(noun string, verbs map[string]adminCommand, args []string, w io.Writer) error {
	names := slices.Sorted(maps.Keys(verbs))
	if len(args) == 0 {
		return fmt.Errorf("usage: podium %s %s [flags]", noun, strings.Join(names, "|"))
	}
	cmd, ok := verbs[args[0]]
	if !ok {
		return fmt.Errorf("podium %s: unknown verb %q (want %s)", noun, args[0], strings.Join(names, ", "))
	}
	return runAdmin(noun+" "+args[0], cmd, args[1:], w)
}

// exactly checks a verb's positional arguments.
func exactly(args []string, names ...string) error {
	if len(args) != len(names) {
		return fmt.Errorf("want %d argument(s): %s", len(names), strings.Join(names, " "))
	}
	return nil
}

func roomVerbs() map[string]adminCommand {
	var maxP int
	var empty time.Duration
	var meta string
	return map[string]adminCommand{
		"list": {usage: "list", run: func(ctx context.Context, c *api.Client, args []string, o *adminOutput) error {
			rooms, err := c.ListRooms(ctx)
			if err != nil {
				return err
			}
			return o.value(rooms, func(tw *tabwriter.Writer) {
				fmt.Fprintln(tw, "NAME\tSID\tPARTICIPANTS\tCREATED")
				for _, r := range rooms {
					fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", r.Name, r.Sid, r.NumParticipants, unixTime(r.CreatedAt))
				}
			})
		}},
		"create": {usage: "create [flags] NAME", flags: func(fs *flag.FlagSet) {
			fs.IntVar(&maxP, "max-participants", 0, "participants at most (0: the server's default)")
			fs.DurationVar(&empty, "empty-timeout", 0, "close the room this long after it empties (0: the server's default)")
			fs.StringVar(&meta, "metadata", "", "room metadata")
		}, run: func(ctx context.Context, c *api.Client, args []string, o *adminOutput) error {
			if err := exactly(args, "NAME"); err != nil {
				return err
			}
			r, err := c.CreateRoom(ctx, api.RoomOptions{Name: args[0], MaxParticipants: maxP, EmptyTimeout: empty, Metadata: meta})
			if err != nil {
				return err
			}
			return o.value(r, func(tw *tabwriter.Writer) { fmt.Fprintf(tw, "created %s (%s)\n", r.Name, r.Sid) })
		}},
		"delete": {usage: "delete NAME", run: func(ctx context.Context, c *api.Client, args []string, o *adminOutput) error {
			if err := exactly(args, "NAME"); err != nil {
				return err
			}
			if err := c.DeleteRoom(ctx, args[0]); err != nil {
				return err
			}
			return o.done("deleted " + args[0])
		}},
	}
}

func participantVerbs() map[string]adminCommand {
	var track string
	var unmute bool
	var name, meta, perms string
	return map[string]adminCommand{
		"list": {usage: "list ROOM", run: func(ctx context.Context, c *api.Client, args []string, o *adminOutput) error {
			if err := exactly(args, "ROOM"); err != nil {
				return err
			}
			ps, err := c.ListParticipants(ctx, args[0])
			if err != nil {
				return err
			}
			return o.value(ps, func(tw *tabwriter.Writer) {
				fmt.Fprintln(tw, "IDENTITY\tNAME\tSID\tTRACKS\tJOINED")
				for _, p := range ps {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.Identity, p.Name, p.Sid, trackList(p.Tracks), unixTime(p.JoinedAt))
				}
			})
		}},
		"remove": {usage: "remove ROOM IDENTITY", run: func(ctx context.Context, c *api.Client, args []string, o *adminOutput) error {
			if err := exactly(args, "ROOM", "IDENTITY"); err != nil {
				return err
			}
			if err := c.RemoveParticipant(ctx, args[0], args[1]); err != nil {
				return err
			}
			return o.done("removed " + args[1])
		}},
		"mute": {usage: "mute [--unmute] --track SID ROOM IDENTITY", flags: func(fs *flag.FlagSet) {
			fs.StringVar(&track, "track", "", "the track's sid (see participant list)")
			fs.BoolVar(&unmute, "unmute", false, "unmute instead (if the server allows it)")
		}, run: func(ctx context.Context, c *api.Client, args []string, o *adminOutput) error {
			if err := exactly(args, "ROOM", "IDENTITY"); err != nil {
				return err
			}
			if track == "" {
				return errors.New("--track is required")
			}
			if err := c.MuteTrack(ctx, args[0], args[1], track, !unmute); err != nil {
				return err
			}
			return o.done(map[bool]string{false: "muted ", true: "unmuted "}[unmute] + track)
		}},
		"update": {usage: "update [--name N] [--metadata M] [--permissions JSON] ROOM IDENTITY", flags: func(fs *flag.FlagSet) {
			fs.StringVar(&name, "name", "", "new display name")
			fs.StringVar(&meta, "metadata", "", "new metadata")
			fs.StringVar(&perms, "permissions", "", `new permissions as JSON, e.g. {"canPublish":false,"canSubscribe":true,"canPublishData":true}`)
		}, run: func(ctx context.Context, c *api.Client, args []string, o *adminOutput) error {
			if err := exactly(args, "ROOM", "IDENTITY"); err != nil {
				return err
			}
			var u api.ParticipantUpdate
			set := map[string]bool{}
			if name != "" {
				u.Name, set["name"] = &name, true
			}
			if meta != "" {
				u.Metadata, set["metadata"] = &meta, true
			}
			if perms != "" {
				u.Permissions = &api.PermissionsUpdate{}
				if err := json.Unmarshal([]byte(perms), u.Permissions); err != nil {
					return fmt.Errorf("--permissions: %w", err)
				}
				set["permissions"] = true
			}
			if len(set) == 0 {
				return errors.New("nothing to update: give --name, --metadata or --permissions")
			}
			p, err := c.UpdateParticipant(ctx, args[0], args[1], u)
			if err != nil {
				return err
			}
			return o.value(p, func(tw *tabwriter.Writer) { fmt.Fprintf(tw, "updated %s\n", p.Identity) })
		}},
	}
}

func sendDataCommand() adminCommand {
	var topic, to string
	var lossy bool
	return adminCommand{usage: "[--topic T] [--to ID,ID] [--lossy] ROOM JSON", flags: func(fs *flag.FlagSet) {
		fs.StringVar(&topic, "topic", "", "the message's topic")
		fs.StringVar(&to, "to", "", "identities to send to (comma-separated); none: everyone")
		fs.BoolVar(&lossy, "lossy", false, "on the lossy channel (may be dropped)")
	}, run: func(ctx context.Context, c *api.Client, args []string, o *adminOutput) error {
		if err := exactly(args, "ROOM", "JSON"); err != nil {
			return err
		}
		if !json.Valid([]byte(args[1])) {
			return fmt.Errorf("the payload %q is not JSON (quote a string: '\"hello\"')", args[1])
		}
		d := api.Data{Topic: topic, Payload: json.RawMessage(args[1]), Lossy: lossy}
		for id := range listItems(to) {
			d.To = append(d.To, id)
		}
		if err := c.SendData(ctx, args[0], d); err != nil {
			return err
		}
		return o.done("sent")
	}}
}

func trackList(ts []protocol.TrackInfo) string {
	var parts []string
	for _, t := range ts {
		s := t.Sid + ":" + t.Source
		if t.Muted {
			s += "(muted)"
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

func unixTime(sec int64) string {
	if sec == 0 {
		return "-"
	}
	return time.Unix(sec, 0).UTC().Format(time.RFC3339)
}
