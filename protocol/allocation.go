package protocol

// Allocation explains what one subscriber receives of each video it subscribes to, and why: the
// answer of GET /api/rooms/{room}/participants/{identity}/allocation. A debugging aid for
// operators; the wording of the reasons may change.
type Allocation struct {
	Identity string `json:"identity"`
	// AgeMillis is how long ago the allocation explained ran (-1: none has yet).
	AgeMillis int64 `json:"ageMs"`
	// Estimate is the subscriber's measured downlink estimate in bits/s (-1: nothing measured).
	Estimate int `json:"estimate"`
	// VideoBudget is what the estimate leaves for video after audio (-1: nothing limits it);
	// Budget what the allocation spent from, after the hysteresis that holds it after a drop.
	VideoBudget int64 `json:"videoBudget"`
	Budget      int64 `json:"budget"`
	// Desired is what the subscriber would receive if bandwidth were plentiful.
	Desired            int64             `json:"desired"`
	PausedForBandwidth bool              `json:"pausedForBandwidth"`
	ProbeRate          int64             `json:"probeRate"` // the probe cluster out, 0: none
	Tracks             []TrackAllocation `json:"tracks"`
}

// TrackAllocation is one video of an Allocation. Layers are named by rid ("" for none).
type TrackAllocation struct {
	TrackSid    string `json:"trackSid"`
	Participant string `json:"participant"` // the publisher's identity
	Priority    string `json:"priority"`    // screen share, pinned, dominant speaker, recent speaker, other
	// Wanted is the highest layer worth sending, and WantedBecause what set it: the size the
	// subscriber renders, or the speaker policy for the priority.
	Wanted        string `json:"wanted"`
	WantedBecause string `json:"wantedBecause"`
	// Chosen is the layer the allocation chose ("": paused or nothing yet), Reason why.
	Chosen string `json:"chosen"`
	Reason string `json:"reason"`
	// ChosenTemporal is the highest VP8 temporal layer chosen when the allocation thins the
	// chosen layer's frame rate (0: a quarter of the frames, 1: half, with three temporal
	// layers); absent when every frame is sent.
	ChosenTemporal *int `json:"chosenTemporal,omitempty"`
	// Forwarding is the layer the subscriber gets now: it differs from Chosen until the chosen
	// layer's keyframe arrives.
	Forwarding string `json:"forwarding"`
}
