package probe

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
)

func TestParseProcessMetrics(t *testing.T) {
	text := `# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 12.5
process_cpu_seconds_total_other 99
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 3.3554432e+07 1700000000000
podium_rooms 2
`
	s, err := parseProcessMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if s.CPUSeconds != 12.5 || s.RSSBytes != 33554432 || s.HasMallocs {
		t.Errorf("got %+v", s)
	}
	s, err = parseProcessMetrics(strings.NewReader(text + "go_memstats_mallocs_total 1.5e+06\n"))
	if err != nil || !s.HasMallocs || s.Mallocs != 1.5e6 {
		t.Errorf("with mallocs: %+v, %v", s, err)
	}
	if _, err := parseProcessMetrics(strings.NewReader("podium_rooms 2\n")); err == nil {
		t.Error("metrics without process gauges: no error")
	}
}

func TestParseProcStat(t *testing.T) {
	// The name may contain spaces and parentheses; utime=250 and stime=50 ticks.
	stat := "4242 (pod (ium) x) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 50 0 0 20 0 12 0 100 0 0"
	cpu, err := parseProcStat(stat)
	if err != nil {
		t.Fatal(err)
	}
	if cpu != 3 {
		t.Errorf("cpu = %v s, want 3", cpu)
	}
	if _, err := parseProcStat("4242 (short) S 1"); err == nil {
		t.Error("short stat: no error")
	}
	kb, err := parseProcStatusKB("Name:\tpodium\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n", "VmRSS:")
	if err != nil || kb != 1024 {
		t.Errorf("VmRSS = %v, %v", kb, err)
	}
}

func TestParseSNMP(t *testing.T) {
	snmp := `Ip: Forwarding DefaultTTL
Ip: 1 64
Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
Udp: 31550 8 1608 33436 1600 3 0 0 0
UdpLite: InDatagrams NoPorts
UdpLite: 0 0
`
	k, err := parseSNMP(strings.NewReader(snmp))
	if err != nil {
		t.Fatal(err)
	}
	if k != (KernelUDP{InDatagrams: 31550, OutDatagrams: 33436, RcvbufErrors: 1600, SndbufErrors: 3}) {
		t.Errorf("got %+v", k)
	}
}

func TestParseCPUTimes(t *testing.T) {
	stat := "cpu  100 5 50 800 40 3 2 10 0 0\ncpu0 50 2 25 400 20 1 1 5 0 0\nintr 1 2 3\n"
	got, err := parseCPUTimes(stat)
	if err != nil {
		t.Fatal(err)
	}
	// busy: user+nice+system+irq+softirq+steal = 100+5+50+3+2+10; total adds idle 800 and iowait 40.
	if got != (CPUTimes{busy: 170, total: 1010}) {
		t.Errorf("got %+v", got)
	}
}

// TestServerWatchScrapesMetricsAtTheEndsOnly: with the server's pid, the per-second samples read
// /proc only (a /metrics scrape costs the server measurable CPU in a small meeting); the
// window's start and end samples scrape the allocation count, and the periodic ones keep it.
func TestServerWatchScrapesMetricsAtTheEndsOnly(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc")
	}
	var scrapes atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n := scrapes.Add(1)
		fmt.Fprintf(w, "process_cpu_seconds_total 1\nprocess_resident_memory_bytes 1000\ngo_memstats_mallocs_total %d\n", 100*n)
	}))
	defer srv.Close()
	w := NewWatch(ProcProbe{PID: os.Getpid(), MetricsURL: srv.URL})
	ctx := context.Background()
	start, err := w.Sample(ctx)
	if err != nil || !start.HasMallocs || start.Mallocs != 100 {
		t.Fatalf("the window's start sample: %+v, %v", start, err)
	}
	for range 5 {
		w.tick(ctx)
	}
	if n := scrapes.Load(); n != 1 {
		t.Fatalf("%d scrapes of /metrics after one full sample and five periodic ones, want 1", n)
	}
	last, peak, ok, err := w.State()
	if !ok || err != nil || !last.HasMallocs || last.Mallocs != 100 || last.RSSBytes <= 0 || peak < last.RSSBytes {
		t.Fatalf("after the periodic samples: %+v, peak %v, %v, %v", last, peak, ok, err)
	}
	if end, err := w.Sample(ctx); err != nil || end.Mallocs != 200 {
		t.Fatalf("the window's end sample: %+v, %v", end, err)
	}
}
