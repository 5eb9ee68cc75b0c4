// Package idlemids keeps pion's subscriber receivers alive across idle m-sections. pion (v4.2)
// stops a transceiver's receiver each time a remote offer has its m-section inactive, and
// replaces the receiver only when it still held a track. So an m-section the server leaves idle
// through two offers keeps a stopped receiver, and when the server reuses it for a new track
// the track never starts (pion logs "Could not determine PayloadType … EOF"). A rejoin makes
// this common: the old session's tracks go idle and the new ones come a few offers later. The
// subscriber therefore applies an m-section that was already inactive in the previous offer as
// sendonly without a track (pion leaves its fresh receiver alone), and tells the server
// inactive in the answer, as the server expects.
package idlemids

import "strings"

// Tracker follows the subscriber offers of one connection, in order.
type Tracker struct {
	idle map[string]bool // mids the last offer had inactive
}

// Offer takes the server's offer and returns the offer to apply instead, and the rewrite of
// the answer made to it.
func (t *Tracker) Offer(sdp string) (apply string, answer func(string) string) {
	// Inactive in the last offer and again: applied as sendonly, answered inactive.
	idle := t.idle
	t.idle = inactiveMids(sdp)
	for mid := range idle {
		if !t.idle[mid] {
			delete(idle, mid)
		}
	}
	return rewriteDirection(sdp, idle, "a=inactive", "a=sendonly"),
		func(sdp string) string { return rewriteDirection(sdp, idle, "a=recvonly", "a=inactive") }
}

// inactiveMids lists the mids of the media m-sections an SDP has inactive.
func inactiveMids(sdp string) map[string]bool {
	out := map[string]bool{}
	for _, sec := range mediaSections(sdp) {
		if mid, ok := sectionAttr(sec, "a=mid:"); ok && hasLine(sec, "a=inactive") {
			out[mid] = true
		}
	}
	return out
}

// rewriteDirection replaces the direction line from with to in the m-sections of mids.
func rewriteDirection(sdp string, mids map[string]bool, from, to string) string {
	if len(mids) == 0 {
		return sdp
	}
	secs := mediaSections(sdp)
	for i, sec := range secs {
		if mid, ok := sectionAttr(sec, "a=mid:"); ok && mids[mid] {
			secs[i] = strings.Replace(sec, "\r\n"+from+"\r\n", "\r\n"+to+"\r\n", 1)
		}
	}
	return strings.Join(secs, "")
}

// mediaSections splits an SDP before each "m=" line; the first part is the session section.
func mediaSections(sdp string) []string {
	parts := strings.SplitAfter(sdp, "\r\n")
	var out []string
	cur := ""
	for _, l := range parts {
		if strings.HasPrefix(l, "m=") {
			out = append(out, cur)
			cur = ""
		}
		cur += l
	}
	return append(out, cur)
}

func sectionAttr(sec, prefix string) (string, bool) {
	for _, l := range strings.Split(sec, "\r\n") {
		if v, ok := strings.CutPrefix(l, prefix); ok {
			return v, true
		}
	}
	return "", false
}

func hasLine(sec, line string) bool { return strings.Contains(sec, "\r\n"+line+"\r\n") }
