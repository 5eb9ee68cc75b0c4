package serverapi

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/podium-sfu/podium/protocol"
	"github.com/podium-sfu/podium/room"
	"github.com/podium-sfu/podium/room/stats"
)

// registerMetrics registers the node's metrics: the media plane's totals, the rooms' drops and
// sizes, the process. The WebSocket sessions' own are package signaling's.
func registerMetrics(reg *prometheus.Registry, rooms *room.Manager) {
	drops := func(get func(room.Drops) uint64) func() float64 {
		return func() float64 { return float64(get(rooms.Drops())) }
	}
	reg.MustRegister(newMediaCollector(rooms),
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
}

// mediaCollector exports the media plane's totals at scrape time (room.Manager.Totals, package room/stats): no
// counter is touched per packet for metrics. Labels are bounded: kinds and nothing per
// participant, room or track.
type mediaCollector struct {
	rooms *room.Manager

	mu   sync.Mutex
	high map[*prometheus.Desc]uint64 // the highest value exported per counter: counters never go back
}

var (
	descTracks = prometheus.NewDesc("podium_tracks", "Published tracks carrying media, by kind.", []string{"kind"}, nil)
	descSubs   = prometheus.NewDesc("podium_subscriptions", "Tracks forwarded to subscribers.", nil, nil)
	descPaused = prometheus.NewDesc("podium_paused_videos", "Subscribed videos forwarding no layer (bandwidth or not shown).", nil, nil)
	descLoss   = prometheus.NewDesc("podium_subscriber_fraction_lost", "Loss each subscription's receiver reports, one observation per subscription at scrape time.", nil, nil)
	descEst    = prometheus.NewDesc("podium_downlink_estimate_bps", "The bandwidth estimate towards each participant (bits/s), one observation per participant at scrape time.", nil, nil)

	counterDescs = []struct {
		desc *prometheus.Desc
		get  func(stats.Totals) uint64
	}{
		{prometheus.NewDesc("podium_packets_in_total", "RTP packets received from publishers.", nil, nil), func(t stats.Totals) uint64 { return t.PacketsIn }},
		{prometheus.NewDesc("podium_bytes_in_total", "RTP bytes received from publishers.", nil, nil), func(t stats.Totals) uint64 { return t.BytesIn }},
		{prometheus.NewDesc("podium_packets_out_total", "RTP packets forwarded to subscribers.", nil, nil), func(t stats.Totals) uint64 { return t.PacketsOut }},
		{prometheus.NewDesc("podium_bytes_out_total", "RTP bytes forwarded to subscribers.", nil, nil), func(t stats.Totals) uint64 { return t.BytesOut }},
		{prometheus.NewDesc("podium_nacks_total", "Packets subscribers asked again for (NACK).", nil, nil), func(t stats.Totals) uint64 { return t.NACKs }},
		{prometheus.NewDesc("podium_retransmits_total", "Packets resent to subscribers from the cache.", nil, nil), func(t stats.Totals) uint64 { return t.Retransmits }},
		{prometheus.NewDesc("podium_plis_total", "Keyframe requests (PLI) on behalf of subscribers.", nil, nil), func(t stats.Totals) uint64 { return t.PLIs }},
		{prometheus.NewDesc("podium_layer_switches_total", "Times a subscriber's video changed simulcast layer or resumed.", nil, nil), func(t stats.Totals) uint64 { return t.LayerSwitches }},
	}

	lossBuckets     = []float64{0, .01, .02, .05, .1, .2, .5}
	estimateBuckets = []float64{150e3, 300e3, 600e3, 1e6, 1.5e6, 2.5e6, 5e6, 10e6}
)

// scrapeTimeout bounds how long one participant's control queue may hold a scrape.
const scrapeTimeout = 200 * time.Millisecond

func newMediaCollector(rooms *room.Manager) *mediaCollector {
	return &mediaCollector{rooms: rooms, high: map[*prometheus.Desc]uint64{}}
}

func (c *mediaCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descTracks
	ch <- descSubs
	ch <- descPaused
	ch <- descLoss
	ch <- descEst
	for _, d := range counterDescs {
		ch <- d.desc
	}
}

func (c *mediaCollector) Collect(ch chan<- prometheus.Metric) {
	t := c.rooms.Totals(scrapeTimeout)
	for _, kind := range []string{protocol.KindAudio, protocol.KindVideo} {
		ch <- prometheus.MustNewConstMetric(descTracks, prometheus.GaugeValue, float64(t.Tracks[kind]), kind)
	}
	ch <- prometheus.MustNewConstMetric(descSubs, prometheus.GaugeValue, float64(t.Subscriptions))
	ch <- prometheus.MustNewConstMetric(descPaused, prometheus.GaugeValue, float64(t.PausedVideos))
	ch <- histogram(descLoss, lossBuckets, t.FractionLost)
	est := make([]float64, len(t.Estimates))
	for i, e := range t.Estimates {
		est[i] = float64(e)
	}
	ch <- histogram(descEst, estimateBuckets, est)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range counterDescs {
		v := max(c.high[d.desc], d.get(t))
		c.high[d.desc] = v
		ch <- prometheus.MustNewConstMetric(d.desc, prometheus.CounterValue, float64(v))
	}
}

// histogram is a histogram of the values observed now (not since start): a distribution over
// the node's current subscriptions or participants.
func histogram(desc *prometheus.Desc, buckets, values []float64) prometheus.Metric {
	counts := make(map[float64]uint64, len(buckets))
	var sum float64
	for _, v := range values {
		sum += v
		for _, b := range buckets {
			if v <= b {
				counts[b]++
			}
		}
	}
	return prometheus.MustNewConstHistogram(desc, uint64(len(values)), sum, counts)
}
