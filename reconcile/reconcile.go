// Package reconcile compares what collectors see with what the store holds
// and closes the gap: identify snapshot objects to entries, diff them into
// drift items, turn drift into plans of fixes, and apply plans to the store
// (observed attributes) or to reality through collectors.Fixer (declared
// attributes). It also records runs, keeps drift items' lifecycle, writes
// reports, posts them to webhooks and runs schedules.
//
// The Engine API, as the CLI and the GraphQL server use it:
//
//	Collect(ctx, c)          take snapshots of a collector's scopes and Reconcile each
//	Reconcile(ctx, snap)     store the snapshot, diff it, auto-apply policy-apply fixes
//	                         in one change set, keep the rest as open drift, mark and
//	                         expire stale entries, record the run
//	Diff(ctx, snap)          identify + diff only; writes nothing
//	Drift(ctx, filter)       open (or resolved) drift items
//	MakePlan(ctx, filter)    plan of fixes for open drift, stored with an id
//	Plan(ctx, id), Plans(ctx, n)
//	Apply(ctx, id, opts)     apply a stored plan (locks, staleness and safety checks)
//	Runs(ctx, filter)        collection, reconcile and apply runs
//	Snapshots(ctx, scope, n) stored snapshots per scope (sources and their last collection)
//	Report(ctx, since), SaveReport, Reports, StoredReport, Render
//	CrossCheck(ctx)          re-run the cross-source rules (VM vs DNS) into scope "cross"
//	ExpireStale(ctx)         soft-delete entries stale longer than their window
//	NewScheduler(schedules)  cron schedules (collect, expire, report, webhook); Start/Stop;
//	RunSchedule(ctx, s)      the latest tick now, once per tick across replicas
//	RunTick(ctx, s, tick)    one tick, unless it has a finished run
//
// Every run is recorded when it starts and keeps a lease while it works
// (inventory.Run); locks of scopes are held by runs, so a crashed run's
// scopes free within the lease and its record reads interrupted.
//
// Errors users see are coded schema errors: ESTALE (plan outdated), ELOCKED
// (another run holds the scope), ECONFLICT (a plan applied already or being
// applied; with field "limits", a safety limit stopped the apply),
// ENOTFOUND (unknown plan or report).
package reconcile

import (
	"context"
	"log/slog"
	"time"

	"github.com/tana-cmdb/tana/collectors"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// Policy says what reconcile does with one entity type's drift.
type Policy struct {
	Observed         string        // apply (default) | propose
	Declared         string        // propose (default) | apply | ignore
	MaxDeletes       int           // per apply; 0 means DefaultMaxDeletes, <0 no limit
	MaxChangePercent float64       // of the type's entries changed per apply; 0 means DefaultMaxChangePercent, <0 no limit
	StaleAfter       time.Duration // unseen this long before stale; 0: first complete snapshot without it
	DeleteAfter      time.Duration // stale this long before soft-deleted; 0: DefaultDeleteAfter
}

// Defaults of Policy fields left zero.
const (
	DefaultMaxDeletes       = 50
	DefaultMaxChangePercent = 50.0
	DefaultDeleteAfter      = 7 * 24 * time.Hour
	// DefaultSuspectRatio: a complete snapshot with fewer objects than this
	// share of the entries its scope last reported is not trusted to mark
	// anything gone.
	DefaultSuspectRatio = 0.5
)

// Options configure an Engine. Zero values are sane defaults.
type Options struct {
	Logger   *slog.Logger
	Now      func() time.Time
	Policies map[string]Policy // by entity type
	Fixers   []collectors.Fixer
	Actor    string // for change sets; default "tana"
	// SuspectRatio overrides DefaultSuspectRatio.
	SuspectRatio float64
	// Lease is how long a run and its locks live without a heartbeat: a
	// crashed run frees its scopes this long after its last one. Default
	// inventory.DefaultLease.
	Lease time.Duration
	// CrossWait is how long a cross-source check waits for another run
	// holding the cross scope (default 10s).
	CrossWait time.Duration
	// Pools, when set, tells reports how full the allocation pools are
	// (cmd/tana passes package allocate's numbers in).
	Pools func(context.Context) ([]PoolUsage, error)
	// KeepSnapshots is how many snapshots per scope keep their data
	// (older ones keep only their counts); default 3.
	KeepSnapshots int
}

// Engine reconciles one store. It is safe for concurrent use; applies of
// one scope are serialised by the store's locks.
type Engine struct {
	store *inventory.Store
	reg   *schema.Registry
	log   *slog.Logger
	now   func() time.Time
	opts  Options
}

// New returns an engine over store.
func New(store *inventory.Store, opts Options) *Engine {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Actor == "" {
		opts.Actor = "tana"
	}
	if opts.SuspectRatio == 0 {
		opts.SuspectRatio = DefaultSuspectRatio
	}
	if opts.CrossWait == 0 {
		opts.CrossWait = 10 * time.Second
	}
	if opts.KeepSnapshots == 0 {
		opts.KeepSnapshots = 3
	}
	return &Engine{store: store, reg: store.Registry(), log: opts.Logger, now: opts.Now, opts: opts}
}

// lease is the lease of the engine's runs.
func (e *Engine) lease() time.Duration {
	if e.opts.Lease > 0 {
		return e.opts.Lease
	}
	return inventory.DefaultLease
}

// Store returns the engine's store.
func (e *Engine) Store() *inventory.Store { return e.store }

// policy returns the type's policy with defaults filled in.
func (e *Engine) policy(typ string) Policy {
	p := e.opts.Policies[typ]
	if p.Observed == "" {
		p.Observed = "apply"
	}
	if p.Declared == "" {
		p.Declared = "propose"
	}
	if p.MaxDeletes == 0 {
		p.MaxDeletes = DefaultMaxDeletes
	}
	if p.MaxChangePercent == 0 {
		p.MaxChangePercent = DefaultMaxChangePercent
	}
	if p.DeleteAfter == 0 {
		p.DeleteAfter = DefaultDeleteAfter
	}
	return p
}

// fixer returns the fixer that handles scope, or nil.
func (e *Engine) fixer(scope string) collectors.Fixer {
	for _, f := range e.opts.Fixers {
		if f != nil && f.Handles(scope) {
			return f
		}
	}
	return nil
}

func (e *Engine) meta(source, reason string) inventory.Meta {
	return inventory.Meta{Actor: e.opts.Actor, Source: source, Reason: reason}
}

// Snapshots lists stored snapshots, newest first; scope "" for all scopes.
func (e *Engine) Snapshots(ctx context.Context, scope string, limit int) ([]inventory.SnapshotRecord, error) {
	return e.store.Snapshots(ctx, scope, limit)
}
