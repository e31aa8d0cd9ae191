package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tana-cmdb/tana/inventory/inventorytest"
)

// A tana serve killed while it delivers an event delivers it after a
// restart: nothing is lost, and the receiver sees the same event id. A
// serve stopped by a signal stops cleanly.
func TestKilledServeDeliversAfterRestart(t *testing.T) {
	for _, d := range inventorytest.Dialects {
		t.Run(d, func(t *testing.T) {
			var mu sync.Mutex
			hang := true
			var ids []string
			var accepted []string
			first := make(chan struct{}, 1)
			rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body) // so that the server notices the client go
				mu.Lock()
				h := hang
				ids = append(ids, r.Header.Get("webhook-id"))
				mu.Unlock()
				if h {
					select {
					case first <- struct{}{}:
					default:
					}
					select { // never answers: the sender is killed meanwhile
					case <-r.Context().Done():
					case <-time.After(time.Minute):
					}
					return
				}
				mu.Lock()
				accepted = append(accepted, r.Header.Get("webhook-id"))
				mu.Unlock()
				w.WriteHeader(http.StatusOK)
			}))
			defer rc.Close()
			dir := t.TempDir()
			cfg := filepath.Join(dir, "tana.yaml")
			must(t, os.WriteFile(cfg, []byte(fmt.Sprintf(`events:
  retry: {initial: 100ms}
  subscriptions:
    - {name: rc, url: %q, secret_env: TANA_RC_SECRET, timeout: 500ms, concurrency: 1}
`, rc.URL)), 0o600))
			items := filepath.Join(dir, "vms.yaml")
			must(t, os.WriteFile(items, []byte("- {type: vm, name: web1, attrs: {cpus: 2}}\n"), 0o600))
			env := map[string]string{"TANA_DB": inventorytest.DSN(t, d), "TANA_CONFIG": cfg,
				"TANA_RC_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
			tana(t, env, 0, "import", items)

			serve := startServe(t, envList(env)...).cmd
			select {
			case <-first:
			case <-time.After(30 * time.Second):
				t.Fatal("serve never sent the event")
			}
			must(t, serve.Process.Signal(syscall.SIGKILL))
			_ = serve.Wait()
			mu.Lock()
			hang = false
			mu.Unlock()

			serve = startServe(t, envList(env)...).cmd
			deadline := time.Now().Add(60 * time.Second)
			for {
				mu.Lock()
				n := len(accepted)
				mu.Unlock()
				if n > 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the event was never delivered after the restart")
				}
				time.Sleep(50 * time.Millisecond)
			}
			must(t, serve.Process.Signal(syscall.SIGTERM))
			if err := serve.Wait(); err != nil {
				t.Errorf("serve did not stop cleanly: %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(accepted) != 1 || accepted[0] != ids[0] {
				t.Errorf("requests %v, accepted %v: want the first event accepted once", ids, accepted)
			}
			var log []struct {
				Status   string
				Attempts int
			}
			must(t, json.Unmarshal([]byte(tana(t, env, 0, "events", "list", "--json")), &log))
			if len(log) != 1 || log[0].Status != "delivered" {
				t.Errorf("delivery log: %+v", log)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
