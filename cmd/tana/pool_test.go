package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPoolSizeFromConfig: db.max_conns in tana.yaml sizes the store's
// connection pool, which /metrics shows.
func TestPoolSizeFromConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tana.yaml")
	yaml := "db:\n  url: sqlite:" + filepath.Join(dir, "tana.db") + "\n  max_conns: 5\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServe(t, "TANA_CONFIG="+cfg, "TANA_DB=")
	resp, err := http.Get(srv.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `go_sql_max_open_connections{db_name="sqlite"} 5`; !strings.Contains(string(body), want) {
		t.Fatalf("/metrics has no %s:\n%s", want, grepLines(string(body), "go_sql_"))
	}
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
