// Package dns collects DNS zones by zone transfer and changes them by
// RFC 2136 dynamic update, both TSIG-signed when a key is configured.
//
// Collect asks each zone's SOA first and serves an unchanged serial from
// the last complete transfer; otherwise it asks IXFR from that serial and
// falls back to AXFR. A transfer that is refused, badly signed, cut off,
// malformed or late makes the zone's snapshot incomplete, never partial.
// Every message of a signed answer must carry a valid TSIG (BIND signs
// each one; RFC 8945 would allow up to 99 unsigned in between).
//
// The wire side (miekg/dns messages and RRs) is in wire.go and xfr.go;
// adapt.go alone turns RRs into snapshot objects. The Fixer is in fix.go
// and update.go, the NOTIFY listener in notify.go.
package dns

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/tana-cmdb/tana/collectors"
)

// Entity types a zone snapshot covers.
const (
	TypeZone   = "dns_zone"
	TypeRecord = "dns_record"
)

// DefaultTimeout bounds each network step (dial, one message) when
// Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// Config configures one DNS source.
type Config struct {
	Name    string   // source name, "dns1"
	Server  string   // host:port of the primary (":53" is added when missing)
	Zones   []string // zone names; made absolute and lower-case
	TSIG    *TSIG    // nil: unsigned transfers and updates
	Timeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// TSIG is a transaction key. Secret is base64, already read from the
// environment by the caller.
type TSIG struct {
	Name      string
	Algorithm string // hmac-sha256 (default), hmac-sha1/224/384/512, hmac-md5
	Secret    string
}

// settings is a validated Config shared by Collector and Fixer.
type settings struct {
	name    string
	server  string
	zones   []string
	key     *tsigKey
	timeout time.Duration
	now     func() time.Time
}

func (cfg Config) settings() (*settings, error) {
	s := &settings{name: cfg.Name, server: cfg.Server, timeout: cfg.Timeout, now: cfg.Now}
	if s.name == "" {
		return nil, fmt.Errorf("dns source: name is required")
	}
	if s.server == "" {
		return nil, fmt.Errorf("dns %s: server is required", s.name)
	}
	if _, _, err := net.SplitHostPort(s.server); err != nil {
		s.server = net.JoinHostPort(strings.Trim(s.server, "[]"), "53")
	}
	if len(cfg.Zones) == 0 {
		return nil, fmt.Errorf("dns %s: no zones configured", s.name)
	}
	for _, z := range cfg.Zones {
		if _, ok := dns.IsDomainName(z); !ok || z == "" {
			return nil, fmt.Errorf("dns %s: bad zone name %q", s.name, z)
		}
		if zone := dns.CanonicalName(z); !slices.Contains(s.zones, zone) {
			s.zones = append(s.zones, zone)
		}
	}
	if cfg.TSIG != nil {
		k, err := newTSIGKey(*cfg.TSIG)
		if err != nil {
			return nil, fmt.Errorf("dns %s: %w", s.name, err)
		}
		s.key = k
	}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// zoneOf returns the zone of scope "dns:<zone>" and whether it is a
// configured zone.
func (s *settings) zoneOf(scope string) (string, bool) {
	z, ok := strings.CutPrefix(scope, "dns:")
	if !ok {
		return "", false
	}
	z = dns.CanonicalName(z)
	return z, slices.Contains(s.zones, z)
}

// zoneErr names source, zone and server, the way every failure is reported.
func (s *settings) zoneErr(zone string, err error) error {
	return fmt.Errorf("dns %s: zone %s from %s: %w", s.name, zone, s.server, err)
}

// Stats counts what Collect did, for tests and metrics.
type Stats struct {
	SOAQueries int64 // serial checks
	Unchanged  int64 // zones served from the cache, no transfer
	AXFR       int64 // full transfers completed
	IXFR       int64 // incremental transfers completed
	Failed     int64 // zone collections that failed
}

// Collector takes one snapshot per configured zone. It keeps the last
// complete transfer of each zone so an unchanged zone costs one SOA query.
type Collector struct {
	s   *settings
	log *slog.Logger

	mu    sync.Mutex
	cache map[string]*zoneState
	stats Stats
}

var _ collectors.Collector = (*Collector)(nil)

// New validates cfg and returns a Collector. log may be nil.
func New(cfg Config, log *slog.Logger) (*Collector, error) {
	s, err := cfg.settings()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Collector{s: s, log: log.With("source", s.name), cache: map[string]*zoneState{}}, nil
}

// Name is the configured source name.
func (c *Collector) Name() string { return c.s.name }

// Stats returns the counters so far.
func (c *Collector) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

func (c *Collector) count(f func(*Stats)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f(&c.stats)
}

// Collect returns one snapshot per configured zone, in configuration
// order: zone object first, then records sorted by ID. A zone that failed
// is incomplete with its error; the error return is set, with the
// snapshots, only when no zone could be read at all.
func (c *Collector) Collect(ctx context.Context) ([]*collectors.Snapshot, error) {
	return c.collect(ctx)
}
