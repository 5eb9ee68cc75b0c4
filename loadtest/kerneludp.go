package loadtest

import (
	"bufio"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
)

// KernelUDP are the kernel's UDP counters of this network namespace (Linux /proc/net/snmp) over
// the window: RcvbufErrors are datagrams dropped because a socket's receive buffer was full,
// the usual cause of loss on loopback. In a shared namespace they include other processes'.
type KernelUDP struct {
	InDatagrams  uint64 `json:"inDatagrams"`
	OutDatagrams uint64 `json:"outDatagrams"`
	RcvbufErrors uint64 `json:"rcvbufErrors"`
	SndbufErrors uint64 `json:"sndbufErrors"`
}

func readKernelUDP() (KernelUDP, error) {
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
	return KernelUDP{}, errors.New("loadtest: no Udp lines in /proc/net/snmp")
}

func (k KernelUDP) minus(o KernelUDP) KernelUDP {
	return KernelUDP{
		InDatagrams: k.InDatagrams - o.InDatagrams, OutDatagrams: k.OutDatagrams - o.OutDatagrams,
		RcvbufErrors: k.RcvbufErrors - o.RcvbufErrors, SndbufErrors: k.SndbufErrors - o.SndbufErrors,
	}
}
