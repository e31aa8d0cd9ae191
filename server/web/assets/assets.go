// Package assets holds the web UI's static files, embedded in the binary:
// tana's own stylesheet and scripts and the vendored third-party files
// (htmx, GraphiQL, React, axe-core) that `make vendor` fetches from npm at
// the versions pinned in vendor.lock. Nothing is fetched at run time.
//
// Each file is served at a URL carrying a hash of its content
// (Path("app.css") → /static/app.3f0c…e1.css) and cached for a year as
// immutable: a new build changes the URL, never what a URL means.
package assets

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"
)

// Prefix is where Handler expects to be mounted.
const Prefix = "/static/"

//go:embed static
var files embed.FS

// asset is one embedded file and what serving it needs.
type asset struct {
	name   string // path under static/: vendor/htmx.min.js
	hashed string // the same with its content hash: vendor/htmx.min.d6fdc75f204e6bde.js
	hash   string
	ctype  string
	body   []byte
}

// catalog indexes the embedded files by name and by hashed name.
type catalog struct {
	byName   map[string]*asset
	byHashed map[string]*asset
}

// embedded is computed once from the embedded files, which never change
// while the process runs; it is a constant, not state.
var embedded = sync.OnceValue(func() *catalog {
	c, err := newCatalog(files)
	if err != nil {
		panic(err) // the embedded tree is fixed at build time; tests read all of it
	}
	return c
})

func newCatalog(fsys fs.FS) (*catalog, error) {
	c := &catalog{byName: map[string]*asset{}, byHashed: map[string]*asset{}}
	err := fs.WalkDir(fsys, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return fmt.Errorf("read asset %q: %w", p, err)
		}
		sum := sha256.Sum256(body)
		name := strings.TrimPrefix(p, "static/")
		a := &asset{name: name, hash: hex.EncodeToString(sum[:8]), ctype: contentType(name), body: body}
		a.hashed = withHash(name, a.hash)
		c.byName[name] = a
		c.byHashed[a.hashed] = a
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("index embedded assets: %w", err)
	}
	return c, nil
}

// withHash puts hash before the file's extension: app.css → app.HASH.css.
func withHash(name, hash string) string {
	ext := path.Ext(name)
	return strings.TrimSuffix(name, ext) + "." + hash + ext
}

// Path returns the URL of the embedded file name (a path under static/,
// such as "vendor/htmx.min.js") with its content hash, for templates and
// pages. Asset names are constants of tana's own code, so an unknown one is
// a programming error: Path panics, which html/template turns into an
// error of the template's execution.
func Path(name string) string {
	a, ok := embedded().byName[name]
	if !ok {
		panic(fmt.Sprintf("assets.Path: no embedded asset %q", name))
	}
	return Prefix + a.hashed
}

// File returns the content of an embedded file (a path under static/), as
// the browser tests need to inject axe-core into a page.
func File(name string) ([]byte, error) {
	a, ok := embedded().byName[name]
	if !ok {
		return nil, fmt.Errorf("asset %q: not embedded", name)
	}
	return a.body, nil
}

// Names lists the embedded files (paths under static/).
func Names() []string {
	names := make([]string, 0, len(embedded().byName))
	for name := range embedded().byName {
		names = append(names, name)
	}
	return names
}

// contentType is set from the extension, never sniffed; the table is
// ours so the answer does not depend on the host's mime database.
func contentType(name string) string {
	switch path.Ext(name) {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".txt":
		return "text/plain; charset=utf-8"
	case ".json", ".map":
		return "application/json"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".ico":
		return "image/x-icon"
	case ".woff2":
		return "font/woff2"
	}
	return "application/octet-stream"
}
