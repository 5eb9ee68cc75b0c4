package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"syscall"
	"time"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/loadtest"
	"github.com/podium-sfu/podium/loadtest/floor"
	"github.com/podium-sfu/podium/loadtest/probe"
	"github.com/podium-sfu/podium/room"
	"github.com/podium-sfu/podium/server"
	"github.com/podium-sfu/podium/sfu"
)

// load runs `podium load`: a load test against a server, or against one started in-process.
func load(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	url := fs.String("url", envDefault("url", "ws://127.0.0.1:7880"), "server base URL; several, comma-separated, are the nodes of a cluster that participants join in turn [PODIUM_URL]")
	key := fs.String("key", envDefault("api-key", ""), "API key [PODIUM_API_KEY]")
	secret := fs.String("secret", envDefault("api-secret", ""), "API secret [PODIUM_API_SECRET]")
	embedded := fs.Bool("embedded", false, "start a server in this process on loopback (its CPU and memory then include the load generator's)")
	rooms := fs.Int("rooms", 1, "rooms")
	publishers := fs.Int("publishers", 2, "participants per room publishing camera (VP8) + microphone (Opus); they receive too")
	audioPublishers := fs.Int("audio-publishers", 0, "participants per room publishing the microphone only; they receive too")
	subscribers := fs.Int("subscribers", 0, "participants per room that only receive")
	duration := fs.Duration("duration", 20*time.Second, "measured window")
	warmup := fs.Duration("warmup", 2*time.Second, "media time after everyone has joined, before measuring")
	joinTimeout := fs.Duration("join-timeout", 30*time.Second, "how long joining and the first media may take (after the last participant starts)")
	joinRate := fs.Float64("join-rate", 0, "participants a second that start joining, each room's publishers first; 0: all at once")
	simulcast := fs.Bool("simulcast", true, "publish three VP8 layers (320x180, 640x360, 1280x720); false: 1280x720 only")
	speakers := fs.Duration("speakers", 0, "rotate scripted speaking turns (audio level) every interval; 0: nobody speaks")
	speakerLevel := fs.Uint("speaker-level", 30, "RFC 6464 level of the speaker (0 loudest … 127 silence)")
	screenShare := fs.Bool("screen-share", false, "the first publisher of each room shares a screen")
	view := fs.String("view", loadtest.ViewGrid, "what receivers render, sent as trackSettings: grid or speaker")
	var downCap, liftTo bitRate
	fs.Var(&downCap, "downlink-cap", "shape each subscriber's downlink to this rate (bits/s: 800k, 2.5M), a drop-tail queue in front of its sockets; 0: none")
	capQueue := fs.Duration("cap-queue", 150*time.Millisecond, "the capped downlink's queue, as time at the cap")
	liftAfter := fs.Duration("cap-lift-after", 0, "lift the downlink cap this far into the measured window; 0: never")
	fs.Var(&liftTo, "cap-lift-to", "the rate the cap is lifted to (bits/s: 2.5M)")
	jsonFile := fs.String("json", "", "write the full report as JSON to this file")
	serverPID := fs.Int("server-pid", 0, "measure the server's CPU and memory from /proc/PID instead of its /metrics")
	floor := fs.Duration("floor", time.Second, "how long to measure the floor (SRTP encrypt + UDP send) after the run; 0 skips")
	serverPprof := fs.String("server-pprof", "", "the server's profiler (podium serve --pprof), e.g. http://127.0.0.1:6060")
	serverProfile := fs.String("server-profile", "", "with --server-pprof: write the server's CPU profile of the measured window here")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of this process (with --embedded: server and load generator)")
	quiet := fs.Bool("quiet", false, "no live progress line")
	logLevel := fs.String("log-level", "off", "log level of the simulated clients and the embedded server: off, debug, info, warn, error")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("load: unexpected argument %q", fs.Arg(0))
	}
	logger := slog.New(slog.DiscardHandler) // pion logs errors at every close: off by default
	if *logLevel != "off" {
		var level slog.Level
		if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
			return fmt.Errorf("--log-level: %w", err)
		}
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	}
	if *speakerLevel > 127 {
		return errors.New("--speaker-level: at most 127")
	}
	cfg := loadtest.Config{
		URL: *url, APIKey: *key, APISecret: *secret,
		Rooms: *rooms, Publishers: *publishers, AudioPublishers: *audioPublishers, Subscribers: *subscribers,
		Duration: *duration, Warmup: *warmup, JoinTimeout: *joinTimeout, JoinRate: *joinRate,
		Simulcast: *simulcast, SpeakerInterval: *speakers, SpeakerLevel: uint8(*speakerLevel),
		ScreenShare: *screenShare, View: *view, Logger: logger, FloorDuration: *floor,
		ProfileURL: *serverPprof, ProfileFile: *serverProfile,
		DownlinkCap: float64(downCap), CapQueue: *capQueue, CapLiftAfter: *liftAfter, CapLiftTo: float64(liftTo),
	}
	if *floor == 0 {
		cfg.FloorDuration = -1
	}
	if exe, err := os.Executable(); err == nil {
		cfg.SinkCommand = []string{exe, "load-sink"} // the paced floor's receivers, in their own process
	}
	if !*quiet {
		cfg.Progress = os.Stderr
	}
	if *serverPID != 0 {
		cfg.Server = probe.ProcProbe{PID: *serverPID}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *embedded {
		node, err := startEmbedded(&cfg, logger)
		if err != nil {
			return err
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = node.Shutdown(sctx)
		}()
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	rep, err := loadtest.Run(ctx, cfg)
	if rep != nil {
		if werr := rep.WriteText(out); werr != nil {
			return werr
		}
		if *jsonFile != "" {
			if jerr := rep.WriteJSON(*jsonFile); jerr != nil {
				return errors.Join(err, jerr)
			}
		}
	}
	return err
}

// startEmbedded runs a node on free loopback ports, with keys of its own, sized for the scenario.
func startEmbedded(cfg *loadtest.Config, logger *slog.Logger) (*server.Node, error) {
	key, secret := auth.GenerateDevKeys()
	perRoom := cfg.Publishers + cfg.AudioPublishers + cfg.Subscribers
	node, err := server.Start(server.Config{
		TCPPort: -1,
		Keys:    auth.KeyProvider{key: secret},
		Media:   sfu.Config{LoopbackOnly: true}, // 4 MiB socket buffers by default
		// Every simulated participant connects from this one address.
		HTTP: server.HTTPLimits{MaxConnsPerIP: -1},
		// As `podium serve` by default: bandwidth estimation on.
		Room:   room.Config{MaxParticipants: max(100, perRoom), MaxRooms: max(1000, cfg.Rooms), BandwidthEstimation: true},
		Logger: logger,
	})
	if err != nil {
		return nil, fmt.Errorf("embedded server: %w", err)
	}
	cfg.URL, cfg.APIKey, cfg.APISecret, cfg.Embedded = node.URL(), key, secret, true
	return node, nil
}

// loadSink runs the paced floor's receivers (floor.RunSink) until its input ends.
func loadSink(args []string) error {
	if len(args) != 1 {
		return errors.New("load-sink: one argument, the number of sockets")
	}
	n, err := strconv.Atoi(args[0])
	if err != nil {
		return fmt.Errorf("load-sink: %w", err)
	}
	return floor.RunSink(n, os.Stdin, os.Stdout)
}

// bitRate is a flag of bits per second, with an optional k, M or G suffix (800k, 2.5M).
type bitRate float64

func (r *bitRate) String() string { return strconv.FormatFloat(float64(*r), 'f', -1, 64) }

func (r *bitRate) Set(s string) error {
	mult := 1.0
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 'k', 'K':
			mult, s = 1e3, s[:n-1]
		case 'M':
			mult, s = 1e6, s[:n-1]
		case 'G':
			mult, s = 1e9, s[:n-1]
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || !(v >= 0) || math.IsInf(v, 0) { // !(v >= 0): NaN too
		return fmt.Errorf("%q: want bits per second, such as 800k or 2.5M", s)
	}
	*r = bitRate(v * mult)
	return nil
}
