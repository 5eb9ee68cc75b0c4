package client

import (
	"reflect"
	"testing"
)

func TestRejoinOrder(t *testing.T) {
	for _, tc := range []struct {
		redirect, first string
		others          []string
		want            []string
	}{
		{"", "ws://a", nil, []string{"ws://a"}},
		{"", "ws://a", []string{"ws://b", "ws://a", "ws://c"}, []string{"ws://a", "ws://b", "ws://c"}},
		{"ws://c", "ws://a", []string{"ws://b", "ws://c"}, []string{"ws://c", "ws://a", "ws://b"}},
	} {
		if got := rejoinOrder(tc.redirect, tc.first, tc.others); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("rejoinOrder(%q, %q, %v) = %v, want %v", tc.redirect, tc.first, tc.others, got, tc.want)
		}
	}
}
