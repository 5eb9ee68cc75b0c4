package room

import "github.com/podium-sfu/podium/room/limits"

// Limits bound what one participant can make the server hold or do (package limits).
type Limits = limits.Limits

// DefaultLimits are the limits' defaults (limits.Default).
var DefaultLimits = limits.Default

// Drops counts what the limits refused on this node, for metrics and tests.
type Drops struct {
	Requests      uint64 // client requests refused because too many waited
	DataRate      uint64 // data messages over their sender's rate or byte budget
	DataLossy     uint64 // lossy data messages over a receiver's buffered budget
	SlowConsumers uint64 // participants closed because they did not read their reliable data
}

// Drops returns the counts so far.
func (m *Manager) Drops() Drops {
	d := &m.env.Drops
	return Drops{Requests: d.Requests.Load(), DataRate: d.DataRate.Load(),
		DataLossy: d.DataLossy.Load(), SlowConsumers: d.SlowConsumers.Load()}
}
