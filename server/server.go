package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/graphql-go/graphql"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tana-cmdb/tana/access"
	"github.com/tana-cmdb/tana/allocate"
	"github.com/tana-cmdb/tana/config"
	"github.com/tana-cmdb/tana/events"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/reconcile"
	"github.com/tana-cmdb/tana/schema"
	"github.com/tana-cmdb/tana/server/web"
	"github.com/tana-cmdb/tana/server/web/assets"
	"github.com/tana-cmdb/tana/version"
)

// Options configure a Server. Store is required; the rest have defaults.
type Options struct {
	Listen string // default 127.0.0.1:8080
	Store  *inventory.Store
	Logger *slog.Logger
	// Registerer takes the server's metrics and Gatherer serves /metrics;
	// both default to a fresh registry.
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
	Limits     config.Server
	// Ansible serves /ansible/inventory; nil answers 404.
	Ansible http.Handler
	// Version is what /healthz reports (tana version's).
	Version version.Info
	// AnsibleCollection serves the tana.cmdb collection's tarball at
	// /ansible/tana-cmdb.tar.gz, without authentication (ansible-galaxy
	// sends no token; the file is the same for everyone); nil answers 404.
	AnsibleCollection http.Handler
	// ExtraQueries and ExtraMutations are added to the generated root types
	// (drift, plans, reports, collect, applyPlan from reconcile).
	ExtraQueries   graphql.Fields
	ExtraMutations graphql.Fields
	// Reconcile adds drift, plans, runs, reports and sources queries, the
	// collect, plan and applyPlan mutations, /reports and the drift and
	// collection metrics. Sources and Collect describe and collect the
	// configured sources.
	Reconcile *reconcile.Engine
	Sources   []SourceInfo
	Collect   func(ctx context.Context, source string) ([]reconcile.RunSummary, error)
	// Allocator adds the pools and allocations queries, the allocate,
	// confirmAllocation and releaseAllocation mutations and the pool
	// metrics (tana_pool_values).
	Allocator *allocate.Allocator
	// EventSubscriptions are tana.yaml's, listed by eventSubscriptions
	// beside those made through the API.
	EventSubscriptions []events.Subscription
	// Auth authenticates tokens, logins and sessions; nil: local users
	// and default sessions over Store.
	Auth *access.Authenticator
}

// Limits defaults.
const (
	DefaultMaxDepth       = 10
	DefaultMaxComplexity  = 50000
	DefaultMaxPageSize    = 1000
	DefaultMaxBodyBytes   = 1 << 20
	DefaultRequestTimeout = 30 * time.Second
	defaultListen         = "127.0.0.1:8080"
)

// Server serves tana over HTTP.
type Server struct {
	opts    Options
	store   *inventory.Store
	log     *slog.Logger
	metrics *Metrics
	gather  prometheus.Gatherer
	schema  atomic.Pointer[gqlSchema]
	handler http.Handler
	ui      *web.UI
	proxies []netip.Prefix // trusted reverse proxies (server.trusted_proxies)
	auth    *access.Authenticator
	// exposed is set when serving a non-loopback address: then a server
	// whose last token was revoked locks up instead of falling open.
	exposed atomic.Bool
	// graphiqlPage is rendered once: its asset URLs are fixed per build.
	graphiqlPage []byte
}

// New builds the server and its GraphQL schema from the store's entity
// types.
func New(opts Options) (*Server, error) {
	if opts.Store == nil {
		return nil, errors.New("server: no store")
	}
	opts.Limits = withDefaults(opts.Limits)
	if opts.Listen == "" {
		opts.Listen = defaultListen
	}
	s := &Server{opts: opts, store: opts.Store, log: opts.Logger, auth: opts.Auth, graphiqlPage: graphiqlPage()}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.auth == nil {
		a, err := access.New(access.Options{Store: opts.Store, Logger: s.log})
		if err != nil {
			return nil, err
		}
		s.auth = a
	}
	reg, gather := opts.Registerer, opts.Gatherer
	if reg == nil {
		r := prometheus.NewRegistry()
		reg, gather = r, r
	} else if gather == nil {
		gather = prometheus.DefaultGatherer
		if g, ok := reg.(prometheus.Gatherer); ok {
			gather = g
		}
	}
	m, err := NewMetrics(reg)
	if err != nil {
		return nil, err
	}
	if err := registerPoolMetrics(reg, opts.Store); err != nil {
		return nil, err
	}
	s.metrics, s.gather = m, gather
	if err := s.Rebuild(); err != nil {
		return nil, err
	}
	for i, p := range opts.Limits.TrustedProxies {
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			return nil, schema.FieldErrorf(schema.EINVALID, fmt.Sprintf("server.trusted_proxies[%d]", i), "want a CIDR, got %q", p)
		}
		s.proxies = append(s.proxies, pfx.Masked())
	}
	if s.ui, err = s.newUI(); err != nil {
		return nil, err
	}
	s.handler = s.routes()
	return s, nil
}

func withDefaults(l config.Server) config.Server {
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxComplexity <= 0 {
		l.MaxComplexity = DefaultMaxComplexity
	}
	if l.MaxPageSize <= 0 {
		l.MaxPageSize = DefaultMaxPageSize
	}
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if l.RequestTimeout <= 0 {
		l.RequestTimeout = config.Duration(DefaultRequestTimeout)
	}
	return l
}

// gqlSchema is a GraphQL schema with what the limits need to know of it.
type gqlSchema struct {
	*graphql.Schema
	// introspectionBudget is how many fields a query may introspect:
	// twice what GraphiQL's schema query returns.
	introspectionBudget int
}

// Rebuild regenerates the GraphQL schema from the store's entity types;
// requests already running finish on the old one.
func (s *Server) Rebuild() error {
	sch, err := buildSchema(s.store.Registry(), s.opts)
	if err != nil {
		return fmt.Errorf("build graphql schema: %w", err)
	}
	full, err := fullIntrospectionCost(sch)
	if err != nil {
		return fmt.Errorf("measure graphql schema: %w", err)
	}
	s.schema.Store(&gqlSchema{Schema: sch, introspectionBudget: 2 * full})
	return nil
}

// Schema returns the current GraphQL schema.
func (s *Server) Schema() *graphql.Schema { return s.schema.Load().Schema }

// Metrics returns the collectors others (reconcile) update.
func (s *Server) Metrics() *Metrics { return s.metrics }

// Handler returns the HTTP handler with every route and middleware. Serve
// checks the listener's address; callers serving Handler themselves must
// not expose a tokenless store beyond loopback.
func (s *Server) Handler() http.Handler { return s.handler }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/graphql", s.instrument("graphql", s.authenticate(http.HandlerFunc(s.graphql))))
	mux.Handle("/graphiql", s.instrument("graphiql", http.HandlerFunc(s.graphiql)))
	mux.Handle(assets.Prefix, s.instrument("static", assets.Handler()))
	mux.Handle("/healthz", s.instrument("healthz", http.HandlerFunc(s.healthz)))
	mux.Handle("/readyz", s.instrument("readyz", http.HandlerFunc(s.readyz)))
	mux.Handle("/metrics", s.instrument("metrics", s.authenticate(promhttp.HandlerFor(s.gather, promhttp.HandlerOpts{}))))
	ansible := s.opts.Ansible
	if ansible == nil {
		ansible = http.NotFoundHandler()
	}
	mux.Handle("/ansible/inventory", s.instrument("ansible", s.authenticate(s.ansibleFor(ansible))))
	if s.opts.AnsibleCollection != nil {
		mux.Handle("/ansible/tana-cmdb.tar.gz", s.instrument("ansible_collection", s.opts.AnsibleCollection))
	}
	mux.Handle("/export", s.instrument("export", s.authenticate(http.HandlerFunc(s.export))))
	if s.opts.Reconcile != nil {
		mux.Handle("/reports", s.instrument("reports", s.authenticate(http.HandlerFunc(s.reports))))
	}
	mux.Handle("POST /login", s.instrument("login", http.HandlerFunc(s.login)))
	mux.Handle("POST /logout", s.instrument("logout", http.HandlerFunc(s.logout)))
	mux.Handle("GET /session", s.instrument("session", http.HandlerFunc(s.session)))
	mux.Handle("/", s.instrument("web", s.ui.Handler()))
	return s.secure(mux)
}

// Run listens on Options.Listen and serves until ctx is cancelled.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.opts.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.opts.Listen, err)
	}
	return s.Serve(ctx, ln)
}

// ListenAndServe is Run, under the name net/http users expect.
func (s *Server) ListenAndServe(ctx context.Context) error { return s.Run(ctx) }

// Serve serves on ln until ctx is cancelled, then shuts down gracefully:
// requests in flight get up to 10 s to finish.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	defer ln.Close()
	if err := s.checkOpen(ctx, ln.Addr()); err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if s.opts.Reconcile != nil || s.opts.Allocator != nil {
		mctx, stop := context.WithCancel(ctx)
		defer stop()
		go s.refreshMetrics(mctx, 15*time.Second)
	}
	s.log.Info("listening", "addr", ln.Addr().String(), "graphql", "http://"+ln.Addr().String()+"/graphql")
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// checkOpen refuses to serve a non-loopback address without tokens or
// users: that would hand the whole inventory, writable, to the network.
func (s *Server) checkOpen(ctx context.Context, addr net.Addr) error {
	if isLoopback(addr) || s.opts.Limits.AllowOpenNonLoop {
		return nil
	}
	s.exposed.Store(true)
	has, err := s.store.HasCredentials(ctx)
	if err != nil {
		return err
	}
	if !has {
		return fmt.Errorf("refusing to listen on non-loopback %s with no API tokens or users: create one with `tana token create --role admin`, or set server.allow_open_non_loopback", addr)
	}
	return nil
}

func isLoopback(addr net.Addr) bool {
	if ta, ok := addr.(*net.TCPAddr); ok {
		return ta.IP.IsLoopback()
	}
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
