// Command npmvendor fetches the web UI's third-party files (htmx, GraphiQL,
// React, axe-core) from the npm registry at the versions pinned in
// vendor.lock, checks every tarball against the registry's integrity and
// the pinned sha256, and writes the few files tana serves, with their
// licences, into static/vendor/. `make vendor` runs it; the result is
// committed, so builds and CI never fetch.
//
// To bump a package: change its version in vendor.lock, empty its
// integrity and sha256 fields, run `make vendor PIN=1`, review the diff.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"
)

// Lock is vendor.lock: what to fetch and what it must hash to.
type Lock struct {
	Packages []Package `json:"packages"`
}

// Package is one npm package at one version.
type Package struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	Integrity string `json:"integrity"` // npm's dist.integrity (sha512-…)
	SHA256    string `json:"sha256"`    // of the .tgz
	Files     []File `json:"files"`
}

// File is one file taken from a tarball.
type File struct {
	From   string `json:"from"` // path inside the tarball (package/…)
	To     string `json:"to"`   // name under static/vendor/
	SHA256 string `json:"sha256"`
}

const maxTarball = 64 << 20 // the largest pinned tarball is a few MB

func main() {
	lockPath := flag.String("lock", "server/web/assets/vendor.lock", "the manifest of pinned packages")
	out := flag.String("out", "server/web/assets/static/vendor", "where the extracted files go")
	registry := flag.String("registry", "https://registry.npmjs.org", "the npm registry")
	pin := flag.Bool("pin", false, "record missing hashes in the lock instead of refusing (after a version bump)")
	flag.Usage = func() {
		_, _ = fmt.Fprintf(flag.CommandLine.Output(), "usage: go run ./server/web/assets/npmvendor [flags]\n\n"+
			"Fetches the pinned npm packages of vendor.lock, verifies them and writes their files to -out.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	v := vendorer{client: &http.Client{Timeout: 2 * time.Minute}, registry: strings.TrimSuffix(*registry, "/"), pin: *pin, log: os.Stderr}
	if err := v.run(ctx, *lockPath, *out); err != nil {
		fmt.Fprintln(os.Stderr, "npmvendor:", err)
		os.Exit(1)
	}
}

// vendorer does the work; progress goes to log (stderr), where a failed
// write is nothing to act on.
type vendorer struct {
	client   *http.Client
	registry string
	pin      bool
	log      io.Writer
}

// run fetches and verifies everything first and writes only then, so a
// failure leaves static/vendor/ as it was.
func (v vendorer) run(ctx context.Context, lockPath, out string) error {
	lock, err := readLock(lockPath)
	if err != nil {
		return err
	}
	files := map[string][]byte{}
	for i := range lock.Packages {
		p := &lock.Packages[i]
		_, _ = fmt.Fprintf(v.log, "[%d/%d] %s@%s\n", i+1, len(lock.Packages), p.Name, p.Version)
		got, err := v.fetch(ctx, p)
		if err != nil {
			return fmt.Errorf("package %s@%s: %w", p.Name, p.Version, err)
		}
		for name, data := range got {
			if _, dup := files[name]; dup {
				return fmt.Errorf("package %s@%s: file %q is also written by another package", p.Name, p.Version, name)
			}
			files[name] = data
		}
	}
	if err := writeFiles(out, files); err != nil {
		return err
	}
	if v.pin {
		if err := writeLock(lockPath, lock); err != nil {
			return err
		}
	}
	_, _ = fmt.Fprintf(v.log, "wrote %d files to %s\n", len(files), out)
	return nil
}

// fetch downloads one package's tarball, checks it and returns the files
// the lock names, each checked too.
func (v vendorer) fetch(ctx context.Context, p *Package) (map[string][]byte, error) {
	var meta struct {
		Dist struct {
			Tarball   string `json:"tarball"`
			Integrity string `json:"integrity"`
		} `json:"dist"`
	}
	if err := v.getJSON(ctx, v.registry+"/"+p.Name+"/"+url.PathEscape(p.Version), &meta); err != nil {
		return nil, err
	}
	if err := v.check("integrity", &p.Integrity, meta.Dist.Integrity); err != nil {
		return nil, err
	}
	tgz, err := v.get(ctx, meta.Dist.Tarball)
	if err != nil {
		return nil, err
	}
	sum512 := sha512.Sum512(tgz)
	if got := "sha512-" + base64.StdEncoding.EncodeToString(sum512[:]); got != p.Integrity {
		return nil, fmt.Errorf("tarball %s: integrity %s, the registry says %s", meta.Dist.Tarball, got, p.Integrity)
	}
	if err := v.check("sha256", &p.SHA256, hexSHA256(tgz)); err != nil {
		return nil, fmt.Errorf("tarball %s: %w", meta.Dist.Tarball, err)
	}
	found, err := extract(tgz, p.Files)
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for i := range p.Files {
		f := &p.Files[i]
		if err := v.check("sha256", &f.SHA256, hexSHA256(found[f.From])); err != nil {
			return nil, fmt.Errorf("file %s: %w", f.From, err)
		}
		out[f.To] = found[f.From]
	}
	return out, nil
}

// check compares a pinned value with what was found; with -pin an empty
// pin takes the value found. A pin that differs is always an error.
func (v vendorer) check(what string, pinned *string, found string) error {
	if *pinned == "" && v.pin {
		*pinned = found
		return nil
	}
	if *pinned != found {
		return fmt.Errorf("%s is %q, vendor.lock pins %q", what, found, *pinned)
	}
	return nil
}

// extract reads the named files out of a gzipped tarball.
func extract(tgz []byte, want []File) (map[string][]byte, error) {
	names := map[string]bool{}
	for _, f := range want {
		if f.From == "" || f.To == "" || f.To != filepath.Base(f.To) || strings.HasPrefix(f.To, ".") {
			return nil, fmt.Errorf("vendor.lock: file %+v: from and a plain file name to are required", f)
		}
		names[f.From] = true
	}
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		return nil, fmt.Errorf("tarball: %w", err)
	}
	tr := tar.NewReader(zr)
	found := map[string][]byte{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("tarball: %w", err)
		}
		if !names[h.Name] || h.Typeflag != tar.TypeReg {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(tr, maxTarball))
		if err != nil {
			return nil, fmt.Errorf("tarball: %s: %w", h.Name, err)
		}
		found[h.Name] = data
	}
	for name := range names {
		if _, ok := found[name]; !ok {
			return nil, fmt.Errorf("tarball has no file %s", name)
		}
	}
	return found, nil
}

func (v vendorer) getJSON(ctx context.Context, u string, into any) error {
	body, err := v.get(ctx, u)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, into); err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	return nil
}

func (v vendorer) get(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	resp, err := v.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTarball+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	if len(body) > maxTarball {
		return nil, fmt.Errorf("GET %s: larger than %d bytes", u, maxTarball)
	}
	return body, nil
}

// writeFiles replaces dir's files with files: each written to a temporary
// name and renamed, then whatever the lock no longer names is removed.
func writeFiles(dir string, files map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write %s: %w", dir, err)
	}
	for name, data := range files {
		if err := writeAtomic(filepath.Join(dir, name), data); err != nil {
			return err
		}
	}
	old, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("write %s: %w", dir, err)
	}
	for _, e := range old {
		if _, keep := files[e.Name()]; !keep {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return fmt.Errorf("remove stale %s: %w", e.Name(), err)
			}
		}
	}
	return nil
}

func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func readLock(path string) (*Lock, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read lock: %w", err)
	}
	var lock Lock
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&lock); err != nil {
		return nil, fmt.Errorf("read lock %s: %w", path, err)
	}
	for i, p := range lock.Packages {
		if p.Name == "" || p.Version == "" || len(p.Files) == 0 {
			return nil, fmt.Errorf("read lock %s: packages[%d]: name, version and files are required", path, i)
		}
	}
	return &lock, nil
}

func writeLock(path string, lock *Lock) error {
	data, err := json.MarshalIndent(lock, "", "  ")
	if err != nil {
		return fmt.Errorf("write lock: %w", err)
	}
	return writeAtomic(path, append(data, '\n'))
}

func hexSHA256(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
