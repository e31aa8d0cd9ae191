package inventory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/tana-cmdb/tana/migrations"
	"github.com/tana-cmdb/tana/schema"
)

// Item is one entry of an import or bulk upsert, matched by type and name.
type Item struct {
	Type  string         `json:"type" yaml:"type"`
	Name  string         `json:"name" yaml:"name"`
	Attrs map[string]any `json:"attrs,omitempty" yaml:"attrs,omitempty"`
}

// UpsertOptions tune Upsert.
type UpsertOptions struct {
	// DryRun validates everything, reports what would change and rolls back.
	DryRun bool
}

// errDryRun rolls back a dry run after its results are computed.
var errDryRun = errors.New("dry run")

// Upsert creates or updates many entries in one transaction: all or none.
// Items are matched to live entries by type and name; their attributes are
// merged into the entry as it is when the batch runs (a null value
// removes one): a concurrent write to the same entries is waited for,
// never a conflict. Errors name the item index and the field.
func (s *Store) Upsert(ctx context.Context, meta Meta, items []Item, opts UpsertOptions) ([]Result, error) {
	var out []Result
	var p *progress
	if len(items) >= analyzeAfter {
		p = &progress{log: s.log, start: time.Now(), items: len(items)}
	}
	err := s.retryRaces(ctx, func() error { return s.upsert(ctx, meta, items, opts, p, &out) })
	if errors.Is(err, errDryRun) {
		return out, nil
	}
	if err == nil && len(items) >= analyzeAfter {
		p.step("committed")
		s.Analyze(ctx)
	}
	return out, err
}

// upsert is one attempt of Upsert.
func (s *Store) upsert(ctx context.Context, meta Meta, items []Item, opts UpsertOptions, p *progress, out *[]Result) error {
	return s.InTx(ctx, func(tx *Tx) (err error) {
		tx.progress, tx.bulk = p, p != nil
		if *out, err = tx.Upsert(ctx, meta, items); err != nil {
			return err
		}
		if opts.DryRun {
			return errDryRun
		}
		p.step("committing")
		return nil
	})
}

// progress logs the steps of a big batch, so that a long import is not
// silent; a nil *progress logs nothing.
type progress struct {
	log   *slog.Logger
	start time.Time
	items int
}

func (p *progress) step(msg string, args ...any) {
	if p == nil {
		return
	}
	args = append([]any{"items", p.items, "elapsed", time.Since(p.start).Round(time.Millisecond)}, args...)
	p.log.Info("bulk write: "+msg, args...)
}

// analyzeAfter is the batch size after which planner statistics are
// refreshed: without them both databases plan value and back-reference
// lookups as scans of the whole type.
const analyzeAfter = 5000

// Analyze refreshes the query planner's statistics. Failures are logged,
// not returned: stale statistics make queries slower, not wrong.
func (s *Store) Analyze(ctx context.Context) {
	stmt := "ANALYZE entries, entry_values, refs, unique_values"
	if s.dialect != migrations.Postgres {
		stmt = "PRAGMA analysis_limit = 1000; ANALYZE"
	}
	if _, err := s.db.ExecContext(ctx, stmt); err != nil {
		s.log.Warn("refresh planner statistics", "err", err)
	}
}

// Upsert creates or updates many entries in the transaction.
func (tx *Tx) Upsert(ctx context.Context, meta Meta, items []Item) ([]Result, error) {
	ws := make([]*write, len(items))
	err := parallel(len(items), func(lo, hi int) (err error) {
		for i := lo; i < hi; i++ {
			if ws[i], err = itemWrite(tx.s.reg, i, items[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	tx.progress.step("items valid")
	if err := tx.loadExisting(ctx, ws); err != nil {
		return nil, err
	}
	tx.progress.step("existing entries matched")
	for _, w := range ws {
		if w.old == nil {
			dropNils(w.attrs)
			w.t.ApplyDefaults(w.attrs)
			continue
		}
		merged := maps.Clone(w.old.Attrs)
		for k, v := range w.attrs {
			if v == nil {
				delete(merged, k)
			} else {
				merged[k] = v
			}
		}
		w.attrs, w.op = merged, OpUpdate
	}
	rs, err := tx.apply(ctx, meta, ws)
	if err != nil {
		return nil, err
	}
	return sortedResults(rs), nil
}

func itemWrite(reg *schema.Registry, i int, it Item) (*write, error) {
	w := &write{index: i, op: OpCreate, name: it.Name}
	t, err := reg.Type(it.Type)
	if err != nil {
		return nil, w.errorf(schema.EINVALID, "type", "unknown entity type %q", it.Type)
	}
	if err := schema.ValidName(it.Name); err != nil {
		return nil, w.errorf(schema.EINVALID, "name", "%s", err.(*schema.Error).Message)
	}
	norm, err := t.NormalizeAttrs(it.Attrs)
	if err != nil {
		return nil, w.errorf(schema.EINVALID, "attrs."+schema.ErrorField(err), "%s", err.(*schema.Error).Message)
	}
	w.t, w.attrs = t, norm
	return w, nil
}

// loadExisting finds the live entries the writes name, in one query per
// type (see anyOf), with their references, and locks them (see
// forUpdateInOrder): the writes merge into them as they are now. Types
// go in name order, so that two batches lock in one order.
func (tx *Tx) loadExisting(ctx context.Context, ws []*write) error {
	byType := map[string][]string{}
	for _, w := range ws {
		byType[w.t.Name] = append(byType[w.t.Name], w.name)
	}
	found := map[refKey]*Entry{}
	for _, typ := range slices.Sorted(maps.Keys(byType)) {
		conds, err := tx.anyHeld(ctx, "SELECT 1 FROM entries WHERE type = ? AND deleted_at IS NULL", []any{typ}, "name", byType[typ])
		if err != nil {
			return err
		}
		for _, c := range conds {
			var rows []*row
			query := "SELECT " + entryCols + " FROM entries WHERE type = ? AND deleted_at IS NULL AND " + c.sql + tx.forUpdateInOrder()
			if err := sqlx.SelectContext(ctx, tx, &rows, tx.Rebind(query), append([]any{typ}, c.args...)...); err != nil {
				return fmt.Errorf("load %s entries: %w", typ, mapError(err))
			}
			list, err := tx.s.decodeAll(ctx, tx, rows)
			if err != nil {
				return err
			}
			for _, e := range list {
				found[refKey{e.Type, e.Name}] = e
			}
		}
	}
	for _, w := range ws {
		w.old = found[refKey{w.t.Name, w.name}]
	}
	return nil
}
