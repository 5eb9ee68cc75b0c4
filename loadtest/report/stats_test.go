package report

import "testing"

func TestDistribution(t *testing.T) {
	hundred := make([]float64, 100)
	for i := range hundred {
		hundred[i] = float64(100 - i) // unsorted on purpose: 100 … 1
	}
	for _, tc := range []struct {
		name string
		in   []float64
		want Distribution
	}{
		{"empty", nil, Distribution{}},
		{"one", []float64{7}, Distribution{N: 1, Min: 7, P50: 7, P95: 7, P99: 7, Max: 7}},
		{"two", []float64{9, 1}, Distribution{N: 2, Min: 1, P50: 1, P95: 9, P99: 9, Max: 9}},
		{"hundred", hundred, Distribution{N: 100, Min: 1, P50: 50, P95: 95, P99: 99, Max: 100}},
	} {
		if got := NewDistribution(tc.in); got != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// TestShares: layer shares leave out layers without frames, and no frames at all is no share
// (never NaN, which the JSON report cannot carry).
func TestShares(t *testing.T) {
	got := Shares(map[string]uint64{"q": 0, "h": 1, "f": 3}, 4)
	if len(got) != 2 || got["h"] != 0.25 || got["f"] != 0.75 {
		t.Errorf("shares %v", got)
	}
	if got := Shares(map[string]uint64{"q": 0}, 0); len(got) != 0 {
		t.Errorf("shares of nothing %v", got)
	}
}
