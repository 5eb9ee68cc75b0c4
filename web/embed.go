// Package web holds what the browser runs: the conference app and the JavaScript SDK (podium.js),
// plain ES modules with no build step, embedded in the server binary.
package web

import (
	"embed"
	"io/fs"
)

//go:embed static
var static embed.FS

// FS returns the static files rooted at the "static" folder, so that a server can serve them at
// "/" (index.html, app.js, podium.js, ...).
func FS() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		// fs.Sub fails only for an invalid path; "static" is a constant.
		panic(err)
	}
	return sub
}
