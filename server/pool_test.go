package server

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
)

// TestPoolMetricsAndSize: /metrics shows the store's connection pool, and
// the pool keeps every connection it opens: 20 clients at once on
// PostgreSQL make the pool open connections, not open and close them.
func TestPoolMetricsAndSize(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		seed(t, s, 4)
		ts := start(t, s)
		q, _ := json.Marshal(map[string]any{"query": `{ vms { totalCount edges { node { name host { name } } } } }`})
		done := make(chan error)
		for range 20 {
			go func() {
				var err error
				for range 25 {
					var resp *http.Response
					if resp, err = http.Post(ts.url+"/graphql", "application/json", bytes.NewReader(q)); err != nil {
						break
					}
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err != nil {
						break
					}
				}
				done <- err
			}()
		}
		for range 20 {
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
		st := s.DB().Stats()
		if st.MaxIdleClosed > 0 {
			t.Errorf("the pool closed %d connections for want of idle room (opened at most %d)", st.MaxIdleClosed, st.MaxOpenConnections)
		}
		resp, err := http.Get(ts.url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		parser := expfmt.NewTextParser(model.UTF8Validation)
		families, err := parser.TextToMetricFamilies(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"go_sql_max_open_connections", "go_sql_open_connections", "go_sql_in_use_connections", "go_sql_wait_count_total", "go_sql_max_idle_closed_total"} {
			f := families[name]
			if f == nil || len(f.Metric) != 1 || !strings.Contains(f.Metric[0].String(), s.Dialect()) {
				t.Errorf("metric %s: %v", name, f)
			}
		}
		want := map[string]float64{"sqlite": inventory.DefaultMaxConnsSQLite, "postgres": inventory.DefaultMaxConnsPostgres}[s.Dialect()]
		if got := families["go_sql_max_open_connections"].Metric[0].GetGauge().GetValue(); got != want {
			t.Errorf("go_sql_max_open_connections = %v, want %v", got, want)
		}
	})
}
