package signaling

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the WebSocket sessions' own; the node's are package serverapi's.
type metrics struct {
	sessions      prometheus.Gauge
	framesDropped prometheus.Counter
	joinSeconds   prometheus.Histogram
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		sessions: prometheus.NewGauge(prometheus.GaugeOpts{Name: "podium_signaling_sessions", Help: "Open WebSocket sessions."}),
		framesDropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "podium_signaling_frames_dropped_total",
			Help: "Client frames dropped by the per-session rate limits."}),
		joinSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "podium_join_seconds",
			Help:    "From a client's WebSocket request to its joined message: token check, upgrade, admission.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}}),
	}
	reg.MustRegister(m.sessions, m.framesDropped, m.joinSeconds)
	return m
}
