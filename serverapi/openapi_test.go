package serverapi

import (
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"go.yaml.in/yaml/v3"

	"github.com/podium-sfu/podium/auth"
	"github.com/podium-sfu/podium/room"
)

// openAPIOperations reads docs/openapi.yaml and returns its operations as "METHOD /path".
func openAPIOperations(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("docs/openapi.yaml: %v", err)
	}
	var ops []string
	for path, item := range doc.Paths {
		for method := range item {
			switch method {
			case "get", "put", "post", "patch", "delete":
				ops = append(ops, strings.ToUpper(method)+" "+path)
			}
		}
	}
	slices.Sort(ops)
	return ops
}

// TestOpenAPIMatchesRoutes: docs/openapi.yaml describes exactly the server's API routes, and
// every operation it describes is served (answered, not 404 or 405 from the router).
func TestOpenAPIMatchesRoutes(t *testing.T) {
	ops := openAPIOperations(t)
	// GET /rtc is package signaling's; a stand-in answers for it here.
	rtc := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusUnauthorized) })
	s := New(Config{Keys: auth.KeyProvider{"k": strings.Repeat("s", 32)}, DevMode: true, RTC: rtc,
		Web: fstest.MapFS{"index.html": {Data: []byte("<!doctype html>")}}}, room.NewManager(room.Config{}, nil))
	var routes []string
	for _, r := range s.apiRoutes() {
		routes = append(routes, r.pattern)
	}
	for _, r := range routes {
		if !slices.Contains(ops, r) {
			t.Errorf("route %s is not in docs/openapi.yaml", r)
		}
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	for _, op := range ops {
		method, path, _ := strings.Cut(op, " ")
		if strings.HasPrefix(path, "/api/rooms") && !slices.Contains(routes, op) {
			t.Errorf("docs/openapi.yaml describes %s, which the server does not route", op)
		}
		path = strings.NewReplacer("{room}", "r1", "{identity}", "ann").Replace(path)
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader("{}"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		// Without a token the API answers 401; the others answer in their own way. The router's
		// own answers for an unknown route are 404 and 405.
		if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed {
			t.Errorf("%s: %d, the route is not served", op, resp.StatusCode)
		}
	}
}
