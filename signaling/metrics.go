package signaling

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/podium-sfu/podium/room"
)

type metrics struct {
	sessions prometheus.Gauge
}

func newMetrics(reg *prometheus.Registry, rooms *room.Manager) *metrics {
	m := &metrics{
		sessions: prometheus.NewGauge(prometheus.GaugeOpts{Name: "podium_signaling_sessions", Help: "Open WebSocket sessions."}),
	}
	reg.MustRegister(m.sessions,
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
