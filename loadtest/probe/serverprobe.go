// Package probe reads how the server and the machine fared during a load test: the server
// process's CPU and memory (/proc or its /metrics), its own counters (the admin API), the
// machine's CPU and kernel UDP counters, and a CPU profile of the server.
package probe

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// ProcessSample is the server's process accounting at one moment.
type ProcessSample struct {
	CPUSeconds float64 // user + system, since the process started
	RSSBytes   float64
	// Mallocs counts the Go heap allocations since the process started (go_memstats_mallocs_total),
	// when the server exports it; HasMallocs says whether it did.
	Mallocs    float64
	HasMallocs bool
}

// ServerProbe reads the server process's CPU time and resident memory.
type ServerProbe interface {
	Sample(ctx context.Context) (ProcessSample, error)
	Describe() string
}

// MetricsProbe scrapes process_cpu_seconds_total and process_resident_memory_bytes from a
// Prometheus text endpoint (Podium's /metrics).
type MetricsProbe struct {
	URL    string
	Client *http.Client // default: 5 s timeout
}

// Describe names the source of the figures.
func (p MetricsProbe) Describe() string { return p.URL }

// Sample scrapes the endpoint once.
func (p MetricsProbe) Sample(ctx context.Context) (ProcessSample, error) {
	hc := p.Client
	if hc == nil {
		hc = &http.Client{Timeout: 5 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL, nil)
	if err != nil {
		return ProcessSample{}, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return ProcessSample{}, fmt.Errorf("probe: scrape %s: %w", p.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return ProcessSample{}, fmt.Errorf("probe: scrape %s: HTTP %d", p.URL, resp.StatusCode)
	}
	return parseProcessMetrics(resp.Body)
}

var errNoProcessMetrics = errors.New("probe: no process_cpu_seconds_total / process_resident_memory_bytes in the metrics")

// parseProcessMetrics reads the two unlabelled process gauges from Prometheus text format.
func parseProcessMetrics(r io.Reader) (ProcessSample, error) {
	var s ProcessSample
	seen, err := readMetrics(r, map[string]*float64{
		"process_cpu_seconds_total":     &s.CPUSeconds,
		"process_resident_memory_bytes": &s.RSSBytes,
		"go_memstats_mallocs_total":     &s.Mallocs,
	})
	if err != nil {
		return s, err
	}
	s.HasMallocs = seen["go_memstats_mallocs_total"]
	if !seen["process_cpu_seconds_total"] || !seen["process_resident_memory_bytes"] {
		return s, errNoProcessMetrics
	}
	return s, nil
}

// readMetrics sets each wanted unlabelled metric found in Prometheus text format, and says
// which it found.
func readMetrics(r io.Reader, want map[string]*float64) (map[string]bool, error) {
	seen := map[string]bool{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		dst := want[name]
		if !ok || dst == nil {
			continue
		}
		value, _, _ = strings.Cut(strings.TrimSpace(value), " ") // drop an optional timestamp
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return seen, fmt.Errorf("probe: metric %s: %w", name, err)
		}
		*dst, seen[name] = v, true
	}
	return seen, sc.Err()
}

// ProcProbe reads /proc/PID/stat and /proc/PID/status (Linux): for a server without /metrics,
// and more precise than the metrics' CPU figure. With MetricsURL it also scrapes the Go heap
// allocation count from there.
type ProcProbe struct {
	PID        int
	MetricsURL string
}

// Describe names the source of the figures.
func (p ProcProbe) Describe() string { return fmt.Sprintf("/proc/%d", p.PID) }

// clockTicks is USER_HZ, which Linux fixes at 100 for /proc/PID/stat on every common platform.
const clockTicks = 100

// Sample reads the process's accounting once.
func (p ProcProbe) Sample(ctx context.Context) (ProcessSample, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.PID))
	if err != nil {
		return ProcessSample{}, fmt.Errorf("probe: server pid: %w", err)
	}
	cpu, err := parseProcStat(string(stat))
	if err != nil {
		return ProcessSample{}, err
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.PID))
	if err != nil {
		return ProcessSample{}, fmt.Errorf("probe: server pid: %w", err)
	}
	rss, err := parseProcStatusKB(string(status), "VmRSS:")
	if err != nil {
		return ProcessSample{}, err
	}
	out := ProcessSample{CPUSeconds: cpu, RSSBytes: rss * 1024}
	if p.MetricsURL != "" {
		if m, err := (MetricsProbe{URL: p.MetricsURL}).Sample(ctx); err == nil {
			out.Mallocs, out.HasMallocs = m.Mallocs, m.HasMallocs
		}
	}
	return out, nil
}

// parseProcStat returns utime + stime in seconds. The command name (field 2) may hold spaces
// and parentheses, so fields are counted after its closing parenthesis.
func parseProcStat(stat string) (float64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("probe: malformed /proc/PID/stat")
	}
	f := strings.Fields(stat[i+1:])
	// After the name: state(3) ppid(4) … utime(14) stime(15); f[0] is field 3.
	if len(f) < 13 {
		return 0, errors.New("probe: short /proc/PID/stat")
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("probe: /proc/PID/stat: %w", err)
	}
	return float64(utime+stime) / clockTicks, nil
}

// parseProcStatusKB returns the kB value of one /proc/PID/status line, e.g. "VmRSS:".
func parseProcStatusKB(status, key string) (float64, error) {
	for line := range strings.Lines(status) {
		if rest, ok := strings.CutPrefix(line, key); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				break
			}
			return strconv.ParseFloat(f[0], 64)
		}
	}
	return 0, fmt.Errorf("probe: no %s in /proc/PID/status", key)
}
