// Package vsphere collects the inventory of one vCenter (or ESXi host)
// through govmomi: one ContainerView and one PropertyCollector retrieval per
// snapshot, WaitForUpdatesEx for changes, and a Fixer for the few declared
// VM attributes vSphere can hold (notes, custom attributes, tags).
package vsphere

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/tana-cmdb/tana/collectors"
)

// Kind is the source kind of every snapshot this package takes.
const Kind = "vsphere"

// entityTypes are the entity types a vSphere snapshot covers.
func entityTypes() []string {
	return []string{"datacenter", "cluster", "host", "datastore", "network", "folder", "vm"}
}

// Config configures one vCenter source.
type Config struct {
	Name     string
	URL      string
	Username string
	// Password is already resolved (from the environment) by the caller.
	Password string
	// Insecure skips TLS verification. TLS is verified unless it is set.
	Insecure bool
	// Thumbprint (SHA-1 or SHA-256, colon form) trusts one certificate.
	Thumbprint string
	// CAFile is a PEM bundle of trusted CAs.
	CAFile string
	// Timeout bounds every call to the server; 0 means 60 s.
	Timeout time.Duration
}

// Errors a caller can test for with errors.Is; messages carry the detail.
var (
	ErrLogin   = errors.New("incorrect user name or password")
	ErrTLS     = errors.New("certificate not trusted")
	ErrConnect = errors.New("cannot connect")
)

// Collector takes snapshots of one vCenter. It keeps one logged-in session
// between collections and logs in again when it expires.
type Collector struct {
	cfg Config
	log *slog.Logger
	now func() time.Time // the clock; time.Now unless a test sets it

	// wrap, when set (tests), wraps the HTTP transport of every connection,
	// SOAP and REST, e.g. to count round trips.
	wrap func(http.RoundTripper) http.RoundTripper

	mu   sync.Mutex
	conn *conn
}

var (
	_ collectors.Collector = (*Collector)(nil)
	_ collectors.Watcher   = (*Collector)(nil)
)

// New checks cfg and returns a collector; it does not connect yet.
func New(cfg Config, log *slog.Logger) (*Collector, error) {
	if cfg.Name == "" {
		return nil, errors.New("vsphere: source name is required")
	}
	if cfg.URL == "" {
		return nil, fmt.Errorf("vsphere %s: url is required", cfg.Name)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 60 * time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Collector{cfg: cfg, log: log.With("source", cfg.Name, "kind", Kind), now: time.Now}, nil
}

// Name is the configured source name.
func (c *Collector) Name() string { return c.cfg.Name }

// Scope is the one scope of this source.
func (c *Collector) Scope() string { return Kind + ":" + c.cfg.Name }

// Close logs out of the shared session, if any.
func (c *Collector) Close(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return nil
	}
	err := c.conn.close(ctx)
	c.conn = nil
	return err
}

// session returns the shared connection, dialing it on first use.
func (c *Collector) session(ctx context.Context) (*conn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != nil {
		return c.conn, nil
	}
	cn, err := dial(ctx, c.cfg, c.log, c.wrap)
	if err != nil {
		return nil, err
	}
	c.conn = cn
	return cn, nil
}

func (c *Collector) newSnapshot() *collectors.Snapshot {
	return &collectors.Snapshot{
		Source:    c.cfg.Name,
		Kind:      Kind,
		Scope:     c.Scope(),
		Types:     entityTypes(),
		StartedAt: c.now().UTC(),
	}
}
