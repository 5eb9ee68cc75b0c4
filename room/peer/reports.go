package peer

import (
	"time"

	"github.com/pion/rtcp"
)

// SendReports sends the client a sender report for every track it receives, so that it can
// sync audio with video and measure the round-trip time: compound packets of a few dozen
// reports, to stay below the MTU.
func (p *Peer) SendReports(now time.Time) {
	var pkts []rtcp.Packet
	for dt := range p.tracks {
		if sr, ok := dt.SenderReport(now); ok {
			pkts = append(pkts, &sr)
		}
	}
	const perPacket = 40
	for len(pkts) > 0 {
		n := min(len(pkts), perPacket)
		if err := p.sub.WriteRTCP(pkts[:n]); err != nil {
			p.logger.Debug("sender reports", "err", err)
			return
		}
		pkts = pkts[n:]
	}
}
