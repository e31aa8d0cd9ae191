package vsphere

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/simulator"
	_ "github.com/vmware/govmomi/vapi/simulator" // registers the vAPI (tagging) endpoints
)

const (
	simUser = "tana"
	simPass = "s3cret"
)

// sim is an in-process vCenter simulator served over loopback HTTPS.
type sim struct {
	model  *simulator.Model
	srv    *simulator.Server
	caFile string
}

// newSim builds a VPX model with 2*perPool VMs (cluster pool + standalone
// host pool) and serves it over TLS with fixed credentials.
func newSim(tb testing.TB, perPool int) *sim {
	tb.Helper()
	m := simulator.VPX()
	m.Machine = perPool
	if err := m.Create(); err != nil {
		tb.Fatal(err)
	}
	m.Service.TLS = new(tls.Config)
	m.Service.RegisterEndpoints = true
	m.Service.Listen = &url.URL{User: url.UserPassword(simUser, simPass)}
	s := m.Service.NewServer()
	ca, err := s.CertificateFile()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		s.Close()
		m.Remove()
	})
	return &sim{model: m, srv: s, caFile: ca}
}

func (s *sim) url() string {
	u := *s.srv.URL
	u.User = nil
	return u.String()
}

func (s *sim) config() Config {
	return Config{Name: "vc1", URL: s.url(), Username: simUser, Password: simPass, CAFile: s.caFile, Timeout: 10 * time.Second}
}

// govc returns a separate admin client, used by tests to change reality.
func (s *sim) client(tb testing.TB) *govmomi.Client {
	tb.Helper()
	u := *s.srv.URL
	c, err := govmomi.NewClient(context.Background(), &u, true)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = c.Logout(context.Background()) })
	return c
}

func testLogger(tb testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// counter counts HTTP requests (SOAP and REST round trips).
type counter struct{ n atomic.Int64 }

func (c *counter) wrap(rt http.RoundTripper) http.RoundTripper {
	return rtFunc(func(r *http.Request) (*http.Response, error) {
		c.n.Add(1)
		return rt.RoundTrip(r)
	})
}

type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func newCollector(tb testing.TB, cfg Config, cnt *counter) *Collector {
	tb.Helper()
	c, err := New(cfg, testLogger(tb))
	if err != nil {
		tb.Fatal(err)
	}
	if cnt != nil {
		c.wrap = cnt.wrap
	}
	tb.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}
