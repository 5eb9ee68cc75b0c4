package floor

import (
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/podium-sfu/podium/internal/testlock"
)

// BenchmarkFloor is the bare cost of forwarding one packet that no SFU can avoid: one SRTP
// encryption and one UDP send to loopback. Compare it with the server's CPU per forwarded
// packet from `podium load` (which measures the same floor in its own run):
//
//	go test -run '^$' -bench Floor -benchmem ./loadtest/floor
func BenchmarkFloor(b *testing.B) {
	f, err := New()
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.SetBytes(PayloadSize)
	b.ReportAllocs()
	cpu0, ok := threadCPU()
	for b.Loop() {
		if err := f.Send(); err != nil {
			b.Fatal(err)
		}
	}
	if cpu1, _ := threadCPU(); ok {
		b.ReportMetric(float64((cpu1-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

func TestFloorDoesNotAllocate(t *testing.T) {
	f, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if n := testing.AllocsPerRun(1000, func() {
		if err := f.Send(); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("floor allocates %v times per packet, want 0", n)
	}
}

// TestMain lets this test binary be the paced floor's sink (`load-sink N`), as podium is.
func TestMain(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == "load-sink" {
		n, _ := strconv.Atoi(os.Args[2])
		if err := RunSink(n, os.Stdin, os.Stdout); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	testlock.Main(m) // it measures CPU per packet: not beside another heavy package
}

// TestPacedFloor: the paced floor sends at the asked rate in bursts to a sink process's
// sockets and measures the sending thread's CPU per packet.
func TestPacedFloor(t *testing.T) {
	r, err := MeasurePaced([]string{os.Args[0], "load-sink"}, 4, 3, 1500, 400*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", r)
	if r.Destinations != 4 || r.FanOut != 3 || r.CPUMicros <= 0 {
		t.Errorf("result %+v", r)
	}
	if r.Rate < 1000 || r.Rate > 2000 {
		t.Errorf("sent %.0f packets/s, asked 1500", r.Rate)
	}
	if _, err := MeasurePaced(nil, 4, 3, 1500, time.Millisecond); err == nil {
		t.Error("no error without a sink command")
	}
}
