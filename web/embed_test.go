package web

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

// TestFS checks that the app's entry points are embedded and that every relative module import
// and every local href/src of index.html names an embedded file (there is no build step to
// catch a typo).
func TestFS(t *testing.T) {
	fsys := FS()
	for _, name := range []string{"index.html", "app.js", "app.css", "podium.js"} {
		if _, err := fs.Stat(fsys, name); err != nil {
			t.Errorf("%s is not embedded: %v", name, err)
		}
	}
	imports := regexp.MustCompile(`(?m)^\s*(?:import|export)\s[^;]*?from\s+'\./([^']+)'`)
	jsFiles, err := fs.Glob(fsys, "*.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range jsFiles {
		src, err := fs.ReadFile(fsys, name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range imports.FindAllStringSubmatch(string(src), -1) {
			if _, err := fs.Stat(fsys, m[1]); err != nil {
				t.Errorf("%s imports ./%s, which is not embedded", name, m[1])
			}
		}
	}
	html, err := fs.ReadFile(fsys, "index.html")
	if err != nil {
		t.Fatal(err)
	}
	refs := regexp.MustCompile(`(?:href|src)="([^"]+)"`)
	for _, m := range refs.FindAllStringSubmatch(string(html), -1) {
		ref := m[1]
		if strings.Contains(ref, ":") || ref == "/" { // data: and absolute URLs; the app itself
			continue
		}
		if _, err := fs.Stat(fsys, strings.TrimPrefix(ref, "/")); err != nil {
			t.Errorf("index.html refers to %s, which is not embedded", ref)
		}
	}
}
