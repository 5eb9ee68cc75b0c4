package report

import (
	"fmt"
	"strings"
)

// CappedViewer is what one subscriber behind a capped downlink (podium load --downlink-cap)
// received: the part of the window at the cap, and the lift when there was one.
type CappedViewer struct {
	Identity string  `json:"identity"`
	CapKbps  float64 `json:"capKbps"`
	// CappedSeconds is the part of the window at the cap (to the lift, else the whole window).
	CappedSeconds float64 `json:"cappedSeconds"`
	// LinkKbps is what the capped link delivered then (UDP payloads: media, padding, RTCP);
	// CapUsePercent is that part of the cap.
	LinkKbps      float64 `json:"linkKbps"`
	CapUsePercent float64 `json:"capUsePercent"`
	// MediaKbps is the RTP its tracks received then (audio and video, headers included);
	// PaddingKbps the packets of padding alone (the server's bandwidth probes).
	MediaKbps   float64 `json:"mediaKbps"`
	PaddingKbps float64 `json:"paddingKbps"`
	Dropped     int     `json:"dropped"` // datagrams the link dropped then (its queue full)
	// Pauses and Resumes are its cameras' streamState changes then: a steady capped link has
	// none, a flapping allocation many.
	Pauses  uint64 `json:"pauses"`
	Resumes uint64 `json:"resumes"`
	// LiftedKbps is the rate after the lift; 0: the cap stayed.
	LiftedKbps    float64 `json:"liftedKbps,omitempty"`
	AfterLiftKbps float64 `json:"afterLiftKbps,omitempty"` // what the link delivered from the lift on
	// RecoveredMillis is from the lift to the end of the first 500 ms in which the link
	// delivered more than RecoverKbps on average; -1: not within the window.
	RecoverKbps     float64 `json:"recoverKbps,omitempty"`
	RecoveredMillis float64 `json:"recoveredMillis,omitempty"`
}

func (rep *Report) writeCapped(b *strings.Builder) {
	for _, v := range rep.Capped {
		fmt.Fprintf(b, "capped        %s: %.0f kbps cap, %.0f kbps delivered (%.0f%% used; media %.0f kbps, probes %.0f kbps), %d dropped, %d pauses and %d resumes in %.1f s\n",
			v.Identity, v.CapKbps, v.LinkKbps, v.CapUsePercent, v.MediaKbps, v.PaddingKbps, v.Dropped, v.Pauses, v.Resumes, v.CappedSeconds)
		if v.LiftedKbps <= 0 {
			continue
		}
		found := "not within the window"
		if v.RecoveredMillis >= 0 {
			found = fmt.Sprintf("after %.1f s", v.RecoveredMillis/1000)
		}
		fmt.Fprintf(b, "  lifted to %.0f kbps: above %.0f kbps (a 500 ms average) %s; %.0f kbps delivered from the lift on\n",
			v.LiftedKbps, v.RecoverKbps, found, v.AfterLiftKbps)
	}
}
