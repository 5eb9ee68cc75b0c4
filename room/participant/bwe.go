package participant

// BandwidthEstimate is the send-side estimate towards the participant's subscriber connection
// (bits/s, -1 without one) and the estimator's internal state (nil without one).
func (p *Participant) BandwidthEstimate() (int, map[string]any) {
	return p.peer.Estimate(), p.peer.EstimatorStats()
}
