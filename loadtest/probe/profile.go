package probe

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// FetchProfile takes a CPU profile of the server over the measured window from its Go
// profiler (`podium serve --pprof`) and writes it to path.
func FetchProfile(ctx context.Context, base, path string, d time.Duration) error {
	secs := max(1, int(d.Seconds()))
	url := strings.TrimSuffix(base, "/") + fmt.Sprintf("/debug/pprof/profile?seconds=%d", secs)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	hc := &http.Client{Timeout: time.Duration(secs+30) * time.Second}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("probe: server profile: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("probe: server profile: HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("probe: server profile: %w", err)
	}
	return f.Close()
}
