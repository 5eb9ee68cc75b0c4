package limits

import (
	"testing"
	"time"
)

// TestWithDefaults: a zero or negative field takes its default, a set one stays.
func TestWithDefaults(t *testing.T) {
	l := Limits{PendingRequests: 3, SignalRate: -1, StrikeWindow: time.Second}.WithDefaults()
	if l.PendingRequests != 3 || l.StrikeWindow != time.Second {
		t.Fatalf("set fields changed: %+v", l)
	}
	want := Default
	want.PendingRequests, want.StrikeWindow = 3, time.Second
	if l != want {
		t.Fatalf("got %+v\nwant %+v", l, want)
	}
	if (Limits{}).WithDefaults() != Default {
		t.Fatal("the zero limits are not the defaults")
	}
}
