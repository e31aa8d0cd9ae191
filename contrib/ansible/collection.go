// Package collection builds the tana.cmdb Ansible collection's tarball
// from the files embedded beside it (tana/cmdb), as ansible-galaxy
// collection build would, so tana serve can hand it out and no Ansible
// tooling is needed to build tana.
package collection

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"time"

	"gopkg.in/yaml.v3"
)

//go:embed tana/cmdb
var files embed.FS

// root is the collection's directory in files.
const root = "tana/cmdb"

// Info is galaxy.yml: the collection's metadata, written into
// MANIFEST.json's collection_info as ansible-galaxy writes it.
type Info struct {
	Namespace     string            `yaml:"namespace" json:"namespace"`
	Name          string            `yaml:"name" json:"name"`
	Version       string            `yaml:"version" json:"version"`
	Authors       []string          `yaml:"authors" json:"authors"`
	Readme        string            `yaml:"readme" json:"readme"`
	Tags          []string          `yaml:"tags" json:"tags"`
	Description   string            `yaml:"description" json:"description"`
	License       []string          `yaml:"license" json:"license"`
	LicenseFile   *string           `yaml:"license_file" json:"license_file"`
	Dependencies  map[string]string `yaml:"dependencies" json:"dependencies"`
	Repository    *string           `yaml:"repository" json:"repository"`
	Documentation *string           `yaml:"documentation" json:"documentation"`
	Homepage      *string           `yaml:"homepage" json:"homepage"`
	Issues        *string           `yaml:"issues" json:"issues"`
	BuildIgnore   []string          `yaml:"build_ignore" json:"-"`
}

// fileEntry is one line of FILES.json.
type fileEntry struct {
	Name      string  `json:"name"`
	Ftype     string  `json:"ftype"`
	ChksumTyp *string `json:"chksum_type"`
	Chksum    *string `json:"chksum_sha256"`
	Format    int     `json:"format"`
}

// Tarball is the built collection: its file name (NAMESPACE-NAME-VERSION.tar.gz),
// metadata and bytes.
type Tarball struct {
	FileName string
	Info     Info
	Data     []byte
}

// mtime is every file's time in the tarball: the same bytes from the same
// files, whenever and wherever tana was built.
var mtime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Build tars and gzips the embedded collection with MANIFEST.json and
// FILES.json, deterministically.
func Build() (*Tarball, error) {
	return build(files, root)
}

func build(fsys fs.FS, dir string) (*Tarball, error) {
	raw, err := fs.ReadFile(fsys, path.Join(dir, "galaxy.yml"))
	if err != nil {
		return nil, fmt.Errorf("collection: read galaxy.yml: %w", err)
	}
	var info Info
	if err := yaml.Unmarshal(raw, &info); err != nil {
		return nil, fmt.Errorf("collection: galaxy.yml: %w", err)
	}
	if info.Namespace == "" || info.Name == "" || info.Version == "" {
		return nil, fmt.Errorf("collection: galaxy.yml needs namespace, name and version")
	}
	normalise(&info)
	names, err := collect(fsys, dir)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	gz, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // a valid level: no error
	tw := tar.NewWriter(gz)
	filesJSON, entries, err := manifestFiles(fsys, dir, names)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(filesJSON)
	manifest, err := json.MarshalIndent(map[string]any{
		"collection_info":    info,
		"file_manifest_file": fileEntry{Name: "FILES.json", Ftype: "file", ChksumTyp: ptr("sha256"), Chksum: ptr(hex.EncodeToString(sum[:])), Format: 1},
		"format":             1,
	}, "", " ")
	if err != nil {
		return nil, fmt.Errorf("collection: MANIFEST.json: %w", err)
	}
	if err := addFile(tw, "MANIFEST.json", manifest); err != nil {
		return nil, err
	}
	if err := addFile(tw, "FILES.json", filesJSON); err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.Name == "." { // the archive itself
			continue
		}
		if err := addEntry(tw, fsys, dir, e); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("collection: tar: %w", err)
	}
	if err := gz.Close(); err != nil {
		return nil, fmt.Errorf("collection: gzip: %w", err)
	}
	return &Tarball{FileName: fmt.Sprintf("%s-%s-%s.tar.gz", info.Namespace, info.Name, info.Version), Info: info, Data: buf.Bytes()}, nil
}

// normalise gives the empty fields the values ansible-galaxy writes.
func normalise(info *Info) {
	if info.Authors == nil {
		info.Authors = []string{}
	}
	if info.Tags == nil {
		info.Tags = []string{}
	}
	if info.License == nil {
		info.License = []string{}
	}
	if info.Dependencies == nil {
		info.Dependencies = map[string]string{}
	}
}

// collect lists the collection's files and directories under dir, sorted,
// relative to it; galaxy.yml is left out (MANIFEST.json replaces it).
func collect(fsys fs.FS, dir string) ([]string, error) {
	var names []string
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := "."
		if p != dir {
			rel = p[len(dir)+1:]
		}
		if rel == "galaxy.yml" {
			return nil
		}
		if d.IsDir() {
			rel += "/"
		}
		names = append(names, rel)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("collection: list files: %w", err)
	}
	sort.Strings(names)
	return names, nil
}

// manifestFiles is FILES.json: every directory and file with the sha256 of
// each file, in the order of names.
func manifestFiles(fsys fs.FS, dir string, names []string) ([]byte, []fileEntry, error) {
	var entries []fileEntry
	for _, n := range names {
		if n == "./" {
			entries = append(entries, fileEntry{Name: ".", Ftype: "dir", Format: 1})
			continue
		}
		if n[len(n)-1] == '/' {
			entries = append(entries, fileEntry{Name: n[:len(n)-1], Ftype: "dir", Format: 1})
			continue
		}
		data, err := fs.ReadFile(fsys, path.Join(dir, n))
		if err != nil {
			return nil, nil, fmt.Errorf("collection: read %s: %w", n, err)
		}
		sum := sha256.Sum256(data)
		entries = append(entries, fileEntry{Name: n, Ftype: "file", ChksumTyp: ptr("sha256"), Chksum: ptr(hex.EncodeToString(sum[:])), Format: 1})
	}
	out, err := json.MarshalIndent(map[string]any{"files": entries, "format": 1}, "", " ")
	if err != nil {
		return nil, nil, fmt.Errorf("collection: FILES.json: %w", err)
	}
	return out, entries, nil
}

func addEntry(tw *tar.Writer, fsys fs.FS, dir string, e fileEntry) error {
	if e.Ftype == "dir" {
		err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: e.Name + "/", Mode: 0o755, ModTime: mtime, Format: tar.FormatGNU})
		if err != nil {
			return fmt.Errorf("collection: tar %s: %w", e.Name, err)
		}
		return nil
	}
	data, err := fs.ReadFile(fsys, path.Join(dir, e.Name))
	if err != nil {
		return fmt.Errorf("collection: read %s: %w", e.Name, err)
	}
	return addFile(tw, e.Name, data)
}

func addFile(tw *tar.Writer, name string, data []byte) error {
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: mtime, Format: tar.FormatGNU}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("collection: tar %s: %w", name, err)
	}
	if _, err := tw.Write(data); err != nil {
		return fmt.Errorf("collection: tar %s: %w", name, err)
	}
	return nil
}

func ptr(s string) *string { return &s }

// Handler serves the tarball (GET, HEAD, with an ETag and ranges) under
// its file name. It needs no token: the collection is the same for
// everyone and ansible-galaxy sends none.
func Handler(t *Tarball) http.Handler {
	sum := sha256.Sum256(t.Data)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/gzip")
		w.Header().Set("Content-Disposition", `attachment; filename="`+t.FileName+`"`)
		w.Header().Set("ETag", etag)
		http.ServeContent(w, r, t.FileName, mtime, bytes.NewReader(t.Data))
	})
}
