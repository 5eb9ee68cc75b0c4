package room

// BandwidthEstimate is the send-side estimate towards the participant's subscriber connection
// (bits/s, -1 without one) and the estimator's internal state (nil without one).
func (p *Participant) BandwidthEstimate() (int, map[string]any) {
	eng := p.room.manager.engine
	return eng.Estimate(p.sub), eng.EstimatorStats(p.sub)
}
