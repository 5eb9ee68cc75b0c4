package report

import (
	"fmt"
	"strings"
)

// NodeReport is one node of a cluster run (`podium load --url ws://n1,ws://n2,…`): the
// participants that joined through it, its CPU and what it forwarded, to its own subscribers
// and as relay copies to the other nodes, in the window.
type NodeReport struct {
	URL          string       `json:"url"`
	Participants int          `json:"participants"`
	JoinMillis   Distribution `json:"joinMillis"`
	CPUCores     float64      `json:"cpuCores"`
	// PacketsOutPerSec went to this node's subscribers; RelayOutPerSec to the other nodes,
	// RelayInPerSec came from them.
	PacketsOutPerSec float64 `json:"packetsOutPerSecond"`
	RelayOutPerSec   float64 `json:"relayOutPerSecond"`
	RelayInPerSec    float64 `json:"relayInPerSecond"`
	// CPUMicrosPerPacket is the node's CPU over every packet it sent (to subscribers and
	// relays); RatioToFloor compares it with the run's floor.
	CPUMicrosPerPacket float64 `json:"cpuMicrosPerSentPacket"`
	RatioToFloor       float64 `json:"ratioToFloor,omitempty"`
	Error              string  `json:"error,omitempty"`
}

func (rep *Report) writeNodes(b *strings.Builder) {
	for i, n := range rep.Nodes {
		if n.Error != "" {
			fmt.Fprintf(b, "node %d        %s: %s\n", i+1, n.URL, n.Error)
			continue
		}
		floor := ""
		if n.RatioToFloor > 0 {
			floor = fmt.Sprintf(" (%.1f× the floor)", n.RatioToFloor)
		}
		fmt.Fprintf(b, "node %d        %s: %d joined, join %s; %.2f cores; %.0f pkt/s to subscribers, %.0f relayed out, %.0f in; %.1f µs per sent packet%s\n",
			i+1, n.URL, n.Participants, msDist(n.JoinMillis), n.CPUCores, n.PacketsOutPerSec, n.RelayOutPerSec,
			n.RelayInPerSec, n.CPUMicrosPerPacket, floor)
	}
}
