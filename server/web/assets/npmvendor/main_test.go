package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func tarball(t *testing.T, files map[string]string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// registry is a real HTTP npm registry on loopback serving one package;
// serve replaces what the tarball URL answers (a tampered mirror).
func registry(t *testing.T, tgz []byte) (url string, serve *[]byte) {
	sum := sha512.Sum512(tgz)
	integrity := "sha512-" + base64.StdEncoding.EncodeToString(sum[:])
	served := tgz
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/lib/1.0.0":
			_ = json.NewEncoder(w).Encode(map[string]any{"dist": map[string]string{"tarball": srv.URL + "/lib.tgz", "integrity": integrity}})
		case "/lib.tgz":
			_, _ = w.Write(served)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &served
}

func writeLockFile(t *testing.T, dir string) string {
	path := filepath.Join(dir, "vendor.lock")
	lock := `{"packages": [{"name": "lib", "version": "1.0.0", "integrity": "", "sha256": "",
	  "files": [{"from": "package/lib.min.js", "to": "lib.min.js", "sha256": ""}, {"from": "package/LICENSE", "to": "lib.LICENSE.txt", "sha256": ""}]}]}`
	if err := os.WriteFile(path, []byte(lock), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPinThenVerify: -pin records the hashes; a second run checks them;
// a tarball that changed on the registry is refused and nothing written.
func TestPinThenVerify(t *testing.T) {
	dir := t.TempDir()
	good := tarball(t, map[string]string{"package/lib.min.js": "lib()", "package/LICENSE": "MIT", "package/README.md": "no"})
	url, served := registry(t, good)
	lockPath, out := writeLockFile(t, dir), filepath.Join(dir, "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "stale.js"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	v := vendorer{client: http.DefaultClient, registry: url, pin: true, log: io.Discard}
	if err := v.run(context.Background(), lockPath, out); err != nil {
		t.Fatal(err)
	}
	lock, err := readLock(lockPath)
	if err != nil {
		t.Fatal(err)
	}
	if p := lock.Packages[0]; p.SHA256 == "" || !strings.HasPrefix(p.Integrity, "sha512-") || p.Files[0].SHA256 == "" {
		t.Fatalf("not pinned: %+v", p)
	}
	if got, _ := os.ReadFile(filepath.Join(out, "lib.min.js")); string(got) != "lib()" {
		t.Fatalf("lib.min.js = %q", got)
	}
	if _, err := os.Stat(filepath.Join(out, "stale.js")); !os.IsNotExist(err) {
		t.Fatal("a file the lock does not name was kept")
	}

	v.pin = false
	if err := v.run(context.Background(), lockPath, out); err != nil {
		t.Fatalf("verify: %v", err)
	}
	// The registry now serves other bytes under the same version (its
	// metadata still names the old integrity): refused, nothing written.
	*served = tarball(t, map[string]string{"package/lib.min.js": "evil()", "package/LICENSE": "MIT"})
	err = v.run(context.Background(), lockPath, out)
	if err == nil || !strings.Contains(err.Error(), "integrity") {
		t.Fatalf("tampered tarball: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(out, "lib.min.js")); string(got) != "lib()" {
		t.Fatalf("a refused tarball changed lib.min.js to %q", got)
	}
	// Even -pin never overwrites a pin that differs.
	v.pin = true
	if err := v.run(context.Background(), lockPath, out); err == nil {
		t.Fatal("-pin accepted a tarball that differs from its pin")
	}
}
