package loadtest

import (
	"runtime"
	"testing"
)

// BenchmarkFloor is the bare cost of forwarding one packet that no SFU can avoid: one SRTP
// encryption and one UDP send to loopback. Compare it with the server's CPU per forwarded
// packet from `podium load` (which measures the same floor in its own run):
//
//	go test -run '^$' -bench Floor -benchmem ./loadtest
func BenchmarkFloor(b *testing.B) {
	f, err := NewFloor()
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.SetBytes(FloorPayloadSize)
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
	f, err := NewFloor()
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
