package auth

import (
	"net/http/httptest"
	"slices"
	"testing"
)

func TestBearerToken(t *testing.T) {
	for _, c := range []struct{ url, header, want string }{
		{"/rtc?access_token=q", "", "q"},
		{"/rtc", "Bearer h", "h"},
		{"/rtc", "bearer  h ", "h"},
		{"/rtc?access_token=q", "Bearer h", "h"}, // the header wins
		{"/rtc", "Basic xyz", ""},
		{"/rtc", "Bearer", ""},
	} {
		r := httptest.NewRequest("GET", c.url, nil)
		if c.header != "" {
			r.Header.Set("Authorization", c.header)
		}
		if got := BearerToken(r); got != c.want {
			t.Errorf("%s with %q: %q, want %q", c.url, c.header, got, c.want)
		}
	}
}

func TestGrantPermissions(t *testing.T) {
	g := Grant{CanPublish: true, CanSubscribe: true, CanPublishSources: []string{"camera"}, Hidden: true}
	p := g.Permissions()
	if !p.CanPublish || !p.CanSubscribe || p.CanPublishData || !p.Hidden || p.RoomAdmin || !slices.Equal(p.CanPublishSources, []string{"camera"}) {
		t.Fatalf("permissions %+v of grant %+v", p, g)
	}
}
