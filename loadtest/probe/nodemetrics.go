package probe

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// NodeSample is what one node of a cluster counted, from its /metrics.
type NodeSample struct {
	CPUSeconds      float64 // process_cpu_seconds_total
	PacketsOut      float64 // podium_packets_out_total: to this node's subscribers
	RelayPacketsOut float64 // podium_relay_packets_out_total: to the other nodes
	RelayPacketsIn  float64 // podium_relay_packets_in_total
}

// SampleNode scrapes a node's /metrics (a cluster run samples every node).
func SampleNode(ctx context.Context, metricsURL string) (NodeSample, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, metricsURL, nil)
	if err != nil {
		return NodeSample{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return NodeSample{}, fmt.Errorf("probe: scrape %s: %w", metricsURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return NodeSample{}, fmt.Errorf("probe: scrape %s: HTTP %d", metricsURL, resp.StatusCode)
	}
	var s NodeSample
	_, err = readMetrics(resp.Body, map[string]*float64{
		"process_cpu_seconds_total":      &s.CPUSeconds,
		"podium_packets_out_total":       &s.PacketsOut,
		"podium_relay_packets_out_total": &s.RelayPacketsOut,
		"podium_relay_packets_in_total":  &s.RelayPacketsIn,
	})
	return s, err
}
