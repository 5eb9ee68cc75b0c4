package probe

import (
	"bufio"
	"errors"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// Machine is how busy the whole machine was over the window (Linux /proc/stat): on a shared
// machine the server and the load generator compete with everything else for the CPUs.
type Machine struct {
	CPUs         int     `json:"cpus"`
	BusyCores    float64 `json:"busyCores"`    // all processes, in CPUs' worth
	OtherCores   float64 `json:"otherCores"`   // busy minus the server and the load generator
	LoadAvgStart float64 `json:"loadAvgStart"` // 1-minute load average
	LoadAvgEnd   float64 `json:"loadAvgEnd"`
}

// CPUTimes are the machine's busy and total CPU time in clock ticks.
type CPUTimes struct{ busy, total uint64 }

// ReadCPUTimes reads the machine's CPU times (/proc/stat).
func ReadCPUTimes() (CPUTimes, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return CPUTimes{}, err
	}
	return parseCPUTimes(string(b))
}

// parseCPUTimes reads the aggregate "cpu" line: user nice system idle iowait irq softirq steal.
// Idle and iowait are not busy; steal (time taken by the hypervisor) is.
func parseCPUTimes(stat string) (CPUTimes, error) {
	for line := range strings.Lines(stat) {
		f := strings.Fields(line)
		if len(f) < 9 || f[0] != "cpu" {
			continue
		}
		var t CPUTimes
		for i, v := range f[1:9] {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return CPUTimes{}, err
			}
			t.total += n
			if i != 3 && i != 4 {
				t.busy += n
			}
		}
		return t, nil
	}
	return CPUTimes{}, errors.New("probe: no cpu line in /proc/stat")
}

// ReadLoadAvg is the 1-minute load average; 0 where there is none.
func ReadLoadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// MachineOver computes the machine's business between two samples taken secs apart.
func MachineOver(a, b CPUTimes, secs float64) (cpus int, busyCores float64) {
	cpus = runtime.NumCPU()
	if b.total <= a.total || secs <= 0 {
		return cpus, 0
	}
	frac := float64(b.busy-a.busy) / float64(b.total-a.total)
	return cpus, frac * float64(cpus)
}

// KernelUDP are the kernel's UDP counters of this network namespace (Linux /proc/net/snmp) over
// the window: RcvbufErrors are datagrams dropped because a socket's receive buffer was full,
// the usual cause of loss on loopback. In a shared namespace they include other processes'.
type KernelUDP struct {
	InDatagrams  uint64 `json:"inDatagrams"`
	OutDatagrams uint64 `json:"outDatagrams"`
	RcvbufErrors uint64 `json:"rcvbufErrors"`
	SndbufErrors uint64 `json:"sndbufErrors"`
}

// ReadKernelUDP reads the kernel's UDP counters (/proc/net/snmp).
func ReadKernelUDP() (KernelUDP, error) {
	f, err := os.Open("/proc/net/snmp")
	if err != nil {
		return KernelUDP{}, err
	}
	defer f.Close()
	return parseSNMP(f)
}

// parseSNMP reads the "Udp:" header and value lines.
func parseSNMP(r io.Reader) (KernelUDP, error) {
	var header []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || fields[0] != "Udp:" {
			continue
		}
		if header == nil {
			header = fields
			continue
		}
		var k KernelUDP
		for i := 1; i < len(fields) && i < len(header); i++ {
			v, err := strconv.ParseUint(fields[i], 10, 64)
			if err != nil {
				continue
			}
			switch header[i] {
			case "InDatagrams":
				k.InDatagrams = v
			case "OutDatagrams":
				k.OutDatagrams = v
			case "RcvbufErrors":
				k.RcvbufErrors = v
			case "SndbufErrors":
				k.SndbufErrors = v
			}
		}
		return k, nil
	}
	if err := sc.Err(); err != nil {
		return KernelUDP{}, err
	}
	return KernelUDP{}, errors.New("probe: no Udp lines in /proc/net/snmp")
}

// Minus is the counts since o.
func (k KernelUDP) Minus(o KernelUDP) KernelUDP {
	return KernelUDP{
		InDatagrams: k.InDatagrams - o.InDatagrams, OutDatagrams: k.OutDatagrams - o.OutDatagrams,
		RcvbufErrors: k.RcvbufErrors - o.RcvbufErrors, SndbufErrors: k.SndbufErrors - o.SndbufErrors,
	}
}
