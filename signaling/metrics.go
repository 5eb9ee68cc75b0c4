package signaling

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/podium-sfu/podium/room"
)

type metrics struct {
	sessions      prometheus.Gauge
	framesDropped prometheus.Counter
	joinSeconds   prometheus.Histogram
}

func newMetrics(reg *prometheus.Registry, rooms *room.Manager) *metrics {
	m := &metrics{
		sessions: prometheus.NewGauge(prometheus.GaugeOpts{Name: "podium_signaling_sessions", Help: "Open WebSocket sessions."}),
		framesDropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "podium_signaling_frames_dropped_total",
			Help: "Client frames dropped by the per-session rate limits."}),
		joinSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "podium_join_seconds",
			Help:    "From a client's WebSocket request to its joined message: token check, upgrade, admission.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}}),
	}
	drops := func(get func(room.Drops) uint64) func() float64 {
		return func() float64 { return float64(get(rooms.Drops())) }
	}
	reg.MustRegister(m.sessions, m.framesDropped, m.joinSeconds, newMediaCollector(rooms),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "podium_requests_dropped_total",
			Help: "Client requests refused because too many waited on a participant's control queue."},
			drops(func(d room.Drops) uint64 { return d.Requests })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "podium_data_dropped_total",
			Help: "Data messages over their sender's rate or byte budget.", ConstLabels: prometheus.Labels{"reason": "sender_rate"}},
			drops(func(d room.Drops) uint64 { return d.DataRate })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "podium_data_dropped_total",
			Help: "Data messages over their sender's rate or byte budget.", ConstLabels: prometheus.Labels{"reason": "receiver_budget"}},
			drops(func(d room.Drops) uint64 { return d.DataLossy })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "podium_slow_consumers_total",
			Help: "Participants closed because they did not read their reliable data."},
			drops(func(d room.Drops) uint64 { return d.SlowConsumers })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "podium_rooms", Help: "Rooms on this node."},
			func() float64 { return float64(len(rooms.Rooms())) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "podium_participants", Help: "Participants on this node."},
			func() float64 { return float64(rooms.ParticipantCount()) }),
	)
	// Process metrics (CPU seconds, RSS) are what `podium load` reads; a caller may have
	// registered them already on a shared registry.
	_ = reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	_ = reg.Register(collectors.NewGoCollector())
	return m
}
