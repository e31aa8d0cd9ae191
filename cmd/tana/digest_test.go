package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/reconcile"
	"github.com/tana-cmdb/tana/schema"
)

// TestServePostsDigestOnlyOnChange: tana serve with a schedule every
// second and report.only_on_change in tana.yaml stores a report every
// tick but posts only the first one (the drift does not change), signed,
// with its digest, to a receiver on loopback.
func TestServePostsDigestOnlyOnChange(t *testing.T) {
	var mu sync.Mutex
	var posted []reconcile.Report
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !reconcile.Verify([]byte("digest-key"), body, r.Header.Get(reconcile.SignatureHeader)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var rep reconcile.Report
		if err := json.Unmarshal(body, &rep); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		posted = append(posted, rep)
		mu.Unlock()
	}))
	defer rcv.Close()
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "tana.db")
	cfg := filepath.Join(dir, "tana.yaml")
	conf := fmt.Sprintf(`schedules:
  - name: often
    cron: "* * * * * *"
    report: {formats: [json], webhook: %q, secret_env: TANA_TEST_DIGEST_KEY, only_on_change: true}
`, rcv.URL)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"TANA_DB": db, "TANA_CONFIG": cfg, "TANA_TEST_DIGEST_KEY": "digest-key"}
	tana(t, env, 0, "migrate")
	cmd := exec.Command(tanaBin, "serve", "--listen", "127.0.0.1:0")
	cmd.Env = envList(env)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }) // exited already, at worst
	reg, err := schema.NewRegistry(schema.Builtin()...)
	if err != nil {
		t.Fatal(err)
	}
	s, err := inventory.Open(context.Background(), db, reg, inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		rs, err := s.Reports(context.Background(), 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) >= 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d reports stored in 30 s\n%s", len(rs), log.String())
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("serve after SIGTERM: %v\n%s", err, log.String())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(posted) != 1 {
		t.Fatalf("%d reports posted, want only the first\n%s", len(posted), log.String())
	}
	if d := posted[0].Digest; d == nil || d.Previous != "" || d.Fingerprint != reconcile.Fingerprint(nil) {
		t.Errorf("first digest = %+v", d)
	}
}
