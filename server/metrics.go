package server

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/tana-cmdb/tana/inventory"
)

// Metrics are the Prometheus collectors tana exports. The server updates the
// HTTP ones; the reconcile side updates the collection and drift ones
// through Server.Metrics.
type Metrics struct {
	Requests           *prometheus.CounterVec   // handler, method, code
	RequestDuration    *prometheus.HistogramVec // handler
	CollectionDuration *prometheus.HistogramVec // source
	CollectionObjects  *prometheus.GaugeVec     // source, type
	DriftOpen          *prometheus.GaugeVec     // kind
	Runs               *prometheus.GaugeVec     // kind, status: runs of the last 24 hours
	PoolValues         *prometheus.GaugeVec     // pool, state: granted, held, free
}

// NewMetrics creates the collectors and registers them with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tana_http_requests_total",
			Help: "HTTP requests by handler, method and status code.",
		}, []string{"handler", "method", "code"}),
		RequestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tana_http_request_duration_seconds",
			Help:    "HTTP request latency by handler.",
			Buckets: prometheus.DefBuckets,
		}, []string{"handler"}),
		CollectionDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tana_collection_duration_seconds",
			Help:    "Duration of collections by source.",
			Buckets: []float64{0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600},
		}, []string{"source"}),
		CollectionObjects: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tana_collection_objects",
			Help: "Objects seen by the last collection, by source and entity type.",
		}, []string{"source", "type"}),
		DriftOpen: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tana_drift_open",
			Help: "Open drift records by kind.",
		}, []string{"kind"}),
		Runs: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tana_runs",
			Help: "Runs started in the last 24 hours by kind and status (running, ok, partial, failed, interrupted: its process died).",
		}, []string{"kind", "status"}),
		PoolValues: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tana_pool_values",
			Help: "Values of each allocation pool by state: granted, held (not expired) and free (none for a pool with no end).",
		}, []string{"pool", "state"}),
	}
	for _, c := range []prometheus.Collector{m.Requests, m.RequestDuration, m.CollectionDuration, m.CollectionObjects, m.DriftOpen, m.Runs, m.PoolValues} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	return m, nil
}

// registerPoolMetrics exports the store's connection pool as database/sql
// counts it (go_sql_open_connections, _in_use_, _idle_, _wait_count_total,
// _max_idle_closed_total, …), labelled db_name="sqlite" or "postgres".
func registerPoolMetrics(reg prometheus.Registerer, s *inventory.Store) error {
	if err := reg.Register(collectors.NewDBStatsCollector(s.DB().DB, s.Dialect())); err != nil {
		return fmt.Errorf("register pool metrics: %w", err)
	}
	return nil
}

// statusWriter remembers the status code for logs and metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// instrument counts, times and logs every request under a fixed handler
// label (never the raw path: that would explode label cardinality). The
// Authorization header is never logged.
func (s *Server) instrument(handler string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		d := time.Since(start)
		s.metrics.Requests.WithLabelValues(handler, r.Method, strconv.Itoa(sw.status)).Inc()
		s.metrics.RequestDuration.WithLabelValues(handler).Observe(d.Seconds())
		s.log.Info("http request", "method", r.Method, "path", r.URL.Path, "status", sw.status,
			"duration", d, "bytes", sw.bytes, "remote", r.RemoteAddr)
	})
}
