package loadtest

import (
	"context"
	"errors"
	"os"
	"sync"
	"time"

	"github.com/podium-sfu/podium/loadtest/floor"
	"github.com/podium-sfu/podium/loadtest/probe"
	"github.com/podium-sfu/podium/loadtest/report"
	"github.com/podium-sfu/podium/testmedia"
)

// Report is what Run measured; package report defines it and writes it as JSON and text.
type Report = report.Report

// Run runs one scenario: everyone joins (at once, or cfg.JoinRate a second), media flows for
// the warm-up, then the window of cfg.Duration is measured, everyone leaves, and the floor is
// measured. Canceling ctx ends the window early; the report covers what was measured.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	q, h, f := testmedia.VP8Layers()
	m := &media{q: q, h: h, f: f, opus: testmedia.Opus()}
	r := &run{cfg: &cfg, watch: probe.NewWatch(cfg.Server)}
	r.admin, _ = probe.NewAdminStats(cfg.URL, cfg.APIKey, cfg.APISecret) // only fails on a bad URL, which withDefaults refused
	for i := range cfg.Rooms {
		rm := newRoom(&cfg, m, i)
		r.rooms = append(r.rooms, rm)
		r.all = append(r.all, rm.participants...)
	}
	for i, p := range r.all {
		p.url = cfg.nodes[i%len(cfg.nodes)]
	}
	return r.execute(ctx)
}

// run is one execution of a scenario.
type run struct {
	cfg   *Config
	rooms []*roomState
	all   []*participant
	watch *probe.Watch
	admin *probe.AdminStats // nil: the server's counters are not read

	mu          sync.Mutex
	phase       string
	windowStart time.Time
}

func (r *run) setPhase(phase string) {
	r.mu.Lock()
	r.phase = phase
	if phase == phaseMeasuring {
		r.windowStart = time.Now()
	}
	r.mu.Unlock()
}

func (r *run) currentPhase() (string, time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.phase, r.windowStart
}

const (
	phaseJoining   = "joining"
	phaseWarmup    = "warming up"
	phaseMeasuring = "measuring"
	phaseLeaving   = "leaving"
)

// windowSnap is everything counted at one edge of the measured window.
type windowSnap struct {
	at        time.Time
	server    probe.ProcessSample
	serverOK  bool
	tracks    []map[string]trackSnapshot // by participant, in r.all order
	wireSent  uint64                     // bytes the load generator sent
	wireRecv  uint64                     // bytes it received
	udp       probe.KernelUDP
	udpOK     bool
	self      probe.ProcessSample // this process: the load generator (and an embedded server)
	selfOK    bool
	cpu       probe.CPUTimes // the whole machine
	cpuOK     bool
	loadAvg   float64
	counters  probe.ServerCounters // the server's own, when its admin stats answer
	estimates map[string]int       // the server's bandwidth estimate towards each participant (bits/s)
	nodes     []nodeSnap           // a cluster run's nodes
	countErr  error
}

func (r *run) snapshot(ctx context.Context, final bool) windowSnap {
	s := windowSnap{at: time.Now(), tracks: make([]map[string]trackSnapshot, len(r.all))}
	for i, p := range r.all {
		s.tracks[i] = p.snapshot(s.at, final)
		sent, recv := p.wireBytes()
		s.wireSent += sent
		s.wireRecv += recv
	}
	var err error
	s.udp, err = probe.ReadKernelUDP()
	s.udpOK = err == nil
	s.self, err = probe.ProcProbe{PID: os.Getpid()}.Sample(ctx)
	s.selfOK = err == nil
	s.cpu, err = probe.ReadCPUTimes()
	s.cpuOK = err == nil
	s.loadAvg = probe.ReadLoadAvg()
	s.countErr = errNoAdminStats
	if r.admin != nil {
		s.counters, s.estimates, s.countErr = r.admin.Sample(ctx)
	}
	s.server, err = r.watch.Sample(ctx)
	s.serverOK = err == nil
	s.nodes = r.sampleNodes(ctx)
	return s
}

func (r *run) execute(ctx context.Context) (*Report, error) {
	cfg := r.cfg
	bg, stopBG := context.WithCancel(context.Background())
	var bgwg sync.WaitGroup
	defer func() { stopBG(); bgwg.Wait() }()

	rep := newReport(cfg, len(r.all))
	before, beforeErr := r.watch.Sample(ctx)
	bgwg.Go(func() { r.watch.Run(bg) })
	prog := &progress{r: r, w: cfg.Progress}
	if prog.w != nil {
		bgwg.Go(func() { prog.run(bg) })
	}

	r.setPhase(phaseJoining)
	joinCtx, cancelJoin := context.WithTimeout(ctx, cfg.JoinTimeout+cfg.joinDelay(len(r.all)-1))
	var wg sync.WaitGroup
	for i, p := range r.all {
		wg.Go(func() {
			sleepCtx(joinCtx, cfg.joinDelay(i))
			p.err = p.join(joinCtx)
		})
	}
	wg.Wait()
	defer r.closeAll() // also on early returns; a second call does nothing
	r.waitForMedia(joinCtx)
	cancelJoin()
	joined, joinedErr := r.watch.Sample(ctx)
	rep.addJoin(r.all, time.Now())
	if beforeErr == nil && joinedErr == nil {
		rep.Server.JoinCPUSeconds = joined.CPUSeconds - before.CPUSeconds
	}
	if rep.Joined == 0 {
		return rep.Report, errors.New("loadtest: nobody joined: " + rep.firstError())
	}

	r.setPhase(phaseWarmup)
	sleepCtx(ctx, cfg.Warmup)

	r.setPhase(phaseMeasuring)
	var profErr error
	var profwg sync.WaitGroup
	if cfg.ProfileURL != "" {
		profwg.Go(func() { profErr = probe.FetchProfile(ctx, cfg.ProfileURL, cfg.ProfileFile, cfg.Duration) })
	}
	start := r.snapshot(ctx, false)
	spCtx, stopSpeakers := context.WithCancel(ctx)
	var spwg sync.WaitGroup
	if cfg.SpeakerInterval > 0 {
		spwg.Go(func() { runSpeakers(spCtx, r.rooms, cfg.SpeakerInterval, cfg.SpeakerLevel) })
	}
	var lift *windowSnap // the capped links' lift
	if cfg.CapLiftAfter > 0 {
		sleepCtx(ctx, cfg.CapLiftAfter)
		lift = r.liftCaps()
	}
	sleepCtx(ctx, cfg.Duration-cfg.CapLiftAfter)
	end := r.snapshot(context.Background(), true)
	stopSpeakers()
	spwg.Wait()
	profwg.Wait()
	if profErr != nil {
		rep.Notes = append(rep.Notes, profErr.Error())
	} else if cfg.ProfileFile != "" {
		rep.Notes = append(rep.Notes, "server CPU profile of the window: "+cfg.ProfileFile)
	}
	rep.addWindow(r.all, start, end)
	for _, rm := range r.rooms {
		rep.FreezeEpisodes += rm.freezes.episodes(start.at, end.at)
	}
	rep.addKeyframes(r.all)
	rep.addCapped(cfg, r.all, start, lift, end)
	rep.Speakers = speakerReport(r.rooms)
	if cfg.SpeakerInterval <= 0 {
		rep.Speakers = nil
	}

	r.setPhase(phaseLeaving)
	r.closeAll()
	stopBG()
	bgwg.Wait()
	prog.finish()
	_, peak, ok, err := r.watch.State()
	rep.addServer(start, end, peak, ok, err)

	if cfg.FloorDuration > 0 {
		if fl, err := floor.Measure(cfg.FloorDuration); err == nil {
			rep.addFloor(fl)
		} else {
			rep.Notes = append(rep.Notes, "floor not measured: "+err.Error())
		}
		if len(cfg.SinkCommand) > 0 {
			dests, fanOut, rate := rep.floorShape()
			if pf, err := floor.MeasurePaced(cfg.SinkCommand, dests, fanOut, rate, max(cfg.FloorDuration, 2*time.Second)); err == nil {
				rep.addPacedFloor(pf)
			} else {
				rep.Notes = append(rep.Notes, "paced floor not measured: "+err.Error())
			}
		}
	}
	rep.addNodes(cfg.nodes, r.all, start, end)
	return rep.Report, nil
}

// waitForMedia waits until every participant receives media on every track it expects, or ctx
// ends.
func (r *run) waitForMedia(ctx context.Context) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		if r.missingMedia() == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// missingMedia counts joined participants that lack media on some expected track.
func (r *run) missingMedia() int {
	n := 0
	now := time.Now()
	for _, p := range r.all {
		if p.c == nil {
			continue
		}
		if mediaTracks(p.snapshot(now, false)) < p.expectedTracks() {
			n++
		}
	}
	return n
}

// mediaTracks counts the tracks on which something arrived.
func mediaTracks(tracks map[string]trackSnapshot) int {
	n := 0
	for _, t := range tracks {
		if !t.first.IsZero() {
			n++
		}
	}
	return n
}

// closeAll makes everyone leave at once and waits for them.
func (r *run) closeAll() {
	var wg sync.WaitGroup
	for _, p := range r.all {
		wg.Go(p.close)
	}
	wg.Wait()
}

var errNoAdminStats = errors.New("loadtest: admin stats not read")

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
