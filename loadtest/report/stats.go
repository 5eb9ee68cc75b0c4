package report

import (
	"math"
	"slices"
	"time"
)

// Distribution summarises a set of samples.
type Distribution struct {
	N   int     `json:"n"`
	Min float64 `json:"min"`
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// NewDistribution computes nearest-rank percentiles; an empty input gives the zero value.
func NewDistribution(samples []float64) Distribution {
	if len(samples) == 0 {
		return Distribution{}
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	return Distribution{
		N: len(s), Min: s[0], Max: s[len(s)-1],
		P50: percentile(s, 50), P95: percentile(s, 95), P99: percentile(s, 99),
	}
}

// percentile is the nearest-rank percentile of sorted samples: the smallest sample that at
// least p% of the samples do not exceed.
func percentile(sorted []float64, p float64) float64 {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[max(0, min(len(sorted), rank)-1)]
}

// Millis converts durations to milliseconds for a Distribution.
func Millis(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = float64(d.Microseconds()) / 1000
	}
	return out
}
