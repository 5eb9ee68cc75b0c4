package room

import (
	"time"

	"github.com/pion/rtcp"
)

// reportEvery is how often (in ticks) subscribers get sender reports: once a second, like
// browsers send them.
const reportEvery = 10

// sendReports sends one compound RTCP packet with a sender report for every track this
// participant receives, so that its receivers can sync audio with video and measure the
// round-trip time. Runs on the control queue.
func (p *Participant) sendReports(now time.Time) {
	var pkts []rtcp.Packet
	for _, s := range p.subs {
		if sr, ok := s.dt.SenderReport(now); ok {
			pkts = append(pkts, &sr)
		}
	}
	if len(pkts) == 0 {
		return
	}
	// RTCP compound packets stay below the MTU: a few dozen reports per datagram.
	const perPacket = 40
	for len(pkts) > 0 {
		n := min(len(pkts), perPacket)
		if err := p.peer.WriteRTCP(pkts[:n]); err != nil {
			p.logger.Debug("sender reports", "err", err)
			return
		}
		pkts = pkts[n:]
	}
}
