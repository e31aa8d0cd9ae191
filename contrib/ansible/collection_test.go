package collection

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
)

// untar reads a .tar.gz into name → content ("" for directories).
func untar(t *testing.T, data []byte) map[string]string {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	out := map[string]string{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		out[filepath.Clean(hdr.Name)] = string(b)
	}
}

func TestBuildIsDeterministic(t *testing.T) {
	a, err := Build()
	if err != nil {
		t.Fatal(err)
	}
	b, err := Build()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Data, b.Data) || a.FileName != "tana-cmdb-"+a.Info.Version+".tar.gz" {
		t.Errorf("two builds differ, or the name %q is not tana-cmdb-VERSION.tar.gz", a.FileName)
	}
	files := untar(t, a.Data)
	for _, want := range []string{"MANIFEST.json", "FILES.json", "README.md", "meta/runtime.yml", "plugins/inventory/inventory.py"} {
		if _, ok := files[want]; !ok {
			t.Errorf("the tarball lacks %s (has %v)", want, keys(files))
		}
	}
	if _, ok := files["galaxy.yml"]; ok {
		t.Errorf("galaxy.yml is in the tarball; MANIFEST.json replaces it")
	}
}

// TestMatchesAnsibleGalaxy checks MANIFEST.json and FILES.json against
// what the real ansible-galaxy collection build writes for the same files.
func TestMatchesAnsibleGalaxy(t *testing.T) {
	if _, err := exec.LookPath("ansible-galaxy"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("ansible-galaxy is not installed in CI: %v", err)
		}
		t.Skipf("!!! SKIPPING: ansible-galaxy not found (install ansible-core) !!!")
	}
	out := t.TempDir()
	cmd := exec.Command("ansible-galaxy", "collection", "build", root, "--output-path", out)
	cmd.Env = append(os.Environ(), "ANSIBLE_HOME="+t.TempDir())
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ansible-galaxy collection build: %v\n%s", err, b)
	}
	ours, err := Build()
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := os.ReadFile(filepath.Join(out, ours.FileName))
	if err != nil {
		t.Fatal(err)
	}
	got, want := untar(t, ours.Data), untar(t, theirs)
	if !reflect.DeepEqual(keys(got), keys(want)) {
		t.Errorf("files: ours %v, ansible-galaxy's %v", keys(got), keys(want))
	}
	for _, name := range []string{"MANIFEST.json", "FILES.json"} {
		var g, w any
		if json.Unmarshal([]byte(got[name]), &g) != nil || json.Unmarshal([]byte(want[name]), &w) != nil || !reflect.DeepEqual(g, w) {
			t.Errorf("%s differs:\nours %s\nansible-galaxy's %s", name, got[name], want[name])
		}
	}
}

func TestHandler(t *testing.T) {
	tb, err := Build()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(Handler(tb))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(body, tb.Data) || resp.Header.Get("Content-Type") != "application/gzip" {
		t.Fatalf("GET = %d %s, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match with its ETag = %d, want 304", resp.StatusCode)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
