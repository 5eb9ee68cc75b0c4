package floor

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The floor (floor.go) is measured in a tight loop to one socket that a goroutine of the same
// process drains: that receiver never sleeps. A server's receivers do: in a small meeting each
// forwarded packet wakes a client that waits for it, and on loopback the kernel does that on
// the sender's CPU. The paced floor measures the same encrypt and send at the scenario's shape:
// its forwarded packet rate, in bursts of its fan-out (packets out per packet in), to as many
// receivers as it has, each a socket of another process that sleeps until a packet comes. It
// is reported next to the floor, not instead of it.

// PacedResult is one measurement of the paced floor.
type PacedResult struct {
	Packets      int     `json:"packets"`
	CPUMicros    float64 `json:"cpuMicrosPerPacket"` // CPU time of the sending thread per packet
	Rate         float64 `json:"packetsPerSecond"`
	FanOut       int     `json:"fanOut"`       // packets per burst
	Destinations int     `json:"destinations"` // receiving sockets, in another process
	Description  string  `json:"description"`
}

// Limits of the paced floor's shape.
const (
	maxSinkSockets = 512
	maxPacedRate   = 200_000
)

// MeasurePaced runs sinkCmd (which must call RunSink: `podium load-sink`) with the number
// of destinations, and sends to its sockets for about d at the given shape.
func MeasurePaced(sinkCmd []string, destinations, fanOut int, rate float64, d time.Duration) (PacedResult, error) {
	if len(sinkCmd) == 0 {
		return PacedResult{}, errors.New("paced floor: no sink command")
	}
	destinations = min(max(destinations, 1), maxSinkSockets)
	fanOut = min(max(fanOut, 1), destinations)
	if rate <= 0 || math.IsNaN(rate) {
		return PacedResult{}, errors.New("paced floor: no packet rate")
	}
	rate = min(rate, maxPacedRate)
	cmd := exec.Command(sinkCmd[0], append(sinkCmd[1:], strconv.Itoa(destinations))...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return PacedResult{}, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return PacedResult{}, err
	}
	if err := cmd.Start(); err != nil {
		return PacedResult{}, fmt.Errorf("paced floor: %w", err)
	}
	defer func() {
		_ = stdin.Close() // the sink ends when its input does
		_ = cmd.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return PacedResult{}, fmt.Errorf("paced floor: sink: %w", err)
	}
	var dsts []*net.UDPAddr
	for _, p := range strings.Split(strings.TrimSpace(line), ",") {
		port, err := strconv.Atoi(p)
		if err != nil {
			return PacedResult{}, fmt.Errorf("paced floor: sink said %q", line)
		}
		dsts = append(dsts, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	}
	f, err := New()
	if err != nil {
		return PacedResult{}, err
	}
	defer f.Close()
	interval := time.Duration(float64(time.Second) * float64(fanOut) / rate)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	next, n := 0, 0
	send := func() error {
		for range fanOut {
			f.dst = dsts[next%len(dsts)]
			next++
			if err := f.Send(); err != nil {
				return err
			}
			n++
		}
		return nil
	}
	for range 20 { // warm up
		if err := send(); err != nil {
			return PacedResult{}, err
		}
	}
	n = 0
	cpu0, ok := threadCPU()
	if !ok {
		return PacedResult{}, errors.New("paced floor: no per-thread CPU time here")
	}
	start := time.Now()
	due := start
	for time.Since(start) < d {
		if err := send(); err != nil {
			return PacedResult{}, err
		}
		due = due.Add(interval)
		if wait := time.Until(due); wait > 0 {
			time.Sleep(wait)
		}
	}
	cpu1, _ := threadCPU()
	return PacedResult{
		Packets: n, CPUMicros: float64((cpu1 - cpu0).Microseconds()) / float64(n),
		Rate: float64(n) / time.Since(start).Seconds(), FanOut: fanOut, Destinations: len(dsts),
		Description: fmt.Sprintf("the floor at %.0f packets/s in bursts of %d to %d sleeping receivers in another process",
			rate, fanOut, len(dsts)),
	}, nil
}

// RunSink is the paced floor's receiving side (`podium load-sink N`): it opens n loopback UDP
// sockets, writes their ports on one line, and drains them until in ends.
func RunSink(n int, in io.Reader, out io.Writer) error {
	if n < 1 || n > maxSinkSockets {
		return fmt.Errorf("load-sink: 1 to %d sockets", maxSinkSockets)
	}
	var conns []*net.UDPConn
	var wg sync.WaitGroup
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
		wg.Wait()
	}()
	ports := make([]string, 0, n)
	for range n {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return err
		}
		_ = c.SetReadBuffer(1 << 20)
		conns = append(conns, c)
		ports = append(ports, strconv.Itoa(c.LocalAddr().(*net.UDPAddr).Port))
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 1600)
			for {
				if _, _, err := c.ReadFromUDP(buf); err != nil {
					return
				}
			}
		}()
	}
	if _, err := fmt.Fprintln(out, strings.Join(ports, ",")); err != nil {
		return err
	}
	_, err := io.Copy(io.Discard, in)
	return err
}
