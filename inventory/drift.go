package inventory

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/tana-cmdb/tana/schema"
)

// DriftRecord is one drift item as stored. Key identifies the same drift
// across runs (kind, type, object, attribute), so an item keeps its first
// seen time while it persists and gets a resolved time when it goes away.
// Data is the reconcile engine's full item as JSON.
type DriftRecord struct {
	ID         string     `json:"id" db:"id"`
	Key        string     `json:"key" db:"key"`
	Kind       string     `json:"kind" db:"kind"`
	Type       string     `json:"type" db:"type"`
	Scope      string     `json:"scope" db:"scope"`
	EntryID    *int64     `json:"entry_id,omitempty" db:"entry_id"`
	EntryName  string     `json:"entry_name" db:"entry_name"`
	Attr       string     `json:"attr,omitempty" db:"attr"`
	Data       string     `json:"-" db:"data"`
	FirstSeen  time.Time  `json:"first_seen" db:"first_seen"`
	LastSeen   time.Time  `json:"last_seen" db:"last_seen"`
	ResolvedAt *time.Time `json:"resolved_at,omitempty" db:"resolved_at"`
	// ResolvedBy says how it was resolved: "collect <scope>", "apply of
	// plan <id>", "cross-check".
	ResolvedBy string `json:"resolved_by,omitempty" db:"resolved_by"`
}

// DriftFilter selects drift records. Zero fields match everything.
type DriftFilter struct {
	Scope    string
	Type     string
	Kind     string
	EntryID  int64
	Resolved bool // resolved items instead of open ones
	Since    time.Time
	Limit    int
}

const driftCols = "id, key, kind, type, scope, entry_id, entry_name, attr, data, first_seen, last_seen, resolved_at, resolved_by"

// Resolution says which open items of a scope a sync may resolve, and
// how they were resolved.
type Resolution struct {
	By string // the cause recorded on resolved items; "" resolves nothing
	// Only, when set, accepts the open items that may be resolved: an
	// incomplete snapshot knows only about what it saw.
	Only func(DriftRecord) bool
}

// SyncDrift makes items the open drift of scope: items already open keep
// their first-seen time and get the new data and last-seen time; new ones
// are opened. Open items of the scope not among them are resolved as res
// allows; the others keep their last-seen time.
func (tx *Tx) SyncDrift(ctx context.Context, scope string, items []DriftRecord, res Resolution) error {
	var open []DriftRecord
	if err := sqlx.SelectContext(ctx, tx, &open, tx.Rebind("SELECT "+driftCols+" FROM drift WHERE scope = ? AND resolved_at IS NULL"), scope); err != nil {
		return fmt.Errorf("load open drift of %s: %w", scope, mapError(err))
	}
	byKey := make(map[string]*DriftRecord, len(open))
	for i := range open {
		byKey[open[i].Key] = &open[i]
	}
	var inserts []any
	var opened []DriftRecord
	var seen []string // open items seen again, unchanged
	for i := range items {
		it := &items[i]
		if prev := byKey[it.Key]; prev != nil {
			delete(byKey, it.Key)
			it.ID, it.FirstSeen, it.LastSeen = prev.ID, prev.FirstSeen.UTC(), tx.now
			if prev.Data == it.Data {
				seen = append(seen, it.ID)
				continue
			}
			if _, err := tx.ExecContext(ctx, tx.Rebind("UPDATE drift SET data = ?, entry_id = ?, entry_name = ?, last_seen = ? WHERE id = ?"),
				it.Data, nullID(it.EntryID), it.EntryName, tx.now, it.ID); err != nil {
				return fmt.Errorf("update drift: %w", mapError(err))
			}
			continue
		}
		it.ID, it.FirstSeen, it.LastSeen = uuid.Must(uuid.NewV7()).String(), tx.now, tx.now
		inserts = append(inserts, it.ID, it.Key, it.Kind, it.Type, scope, nullID(it.EntryID), it.EntryName, it.Attr, it.Data, tx.now, tx.now)
		it.Scope = scope
		opened = append(opened, *it)
	}
	if err := tx.insertMany(ctx, "drift", strings.Split(strings.ReplaceAll(driftCols, " ", ""), ",")[:11], inserts); err != nil {
		return fmt.Errorf("open drift: %w", err)
	}
	evs, err := driftEvents(schema.EventDriftDetected, opened)
	if err != nil {
		return err
	}
	if err := tx.Emit(ctx, evs...); err != nil {
		return err
	}
	for _, chunk := range chunks(seen, 500) {
		query, args, err := sqlx.In("UPDATE drift SET last_seen = ? WHERE id IN (?)", tx.now, chunk)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(query), args...); err != nil {
			return fmt.Errorf("refresh drift: %w", mapError(err))
		}
	}
	if res.By == "" {
		return nil
	}
	gone := make([]string, 0, len(byKey))
	for _, r := range byKey {
		if res.Only == nil || res.Only(*r) {
			gone = append(gone, r.ID)
		}
	}
	return tx.ResolveDrift(ctx, gone, res.By)
}

// ResolveDrift marks drift items resolved now, by the given cause, and
// writes a drift.resolved event for each that was open.
func (tx *Tx) ResolveDrift(ctx context.Context, ids []string, by string) error {
	for _, chunk := range chunks(ids, 500) {
		query, args, err := sqlx.In("SELECT "+driftCols+" FROM drift WHERE resolved_at IS NULL AND id IN (?) ORDER BY id"+tx.forUpdate(), chunk)
		if err != nil {
			return err
		}
		var open []DriftRecord
		if err := sqlx.SelectContext(ctx, tx, &open, tx.Rebind(query), args...); err != nil {
			return fmt.Errorf("load drift to resolve: %w", mapError(err))
		}
		query, args, err = sqlx.In("UPDATE drift SET resolved_at = ?, resolved_by = ? WHERE resolved_at IS NULL AND id IN (?)", tx.now, by, chunk)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(query), args...); err != nil {
			return fmt.Errorf("resolve drift: %w", mapError(err))
		}
		now := tx.now
		for i := range open {
			open[i].fixTimes()
			open[i].ResolvedAt, open[i].ResolvedBy = &now, by
		}
		evs, err := driftEvents(schema.EventDriftResolved, open)
		if err != nil {
			return err
		}
		if err := tx.Emit(ctx, evs...); err != nil {
			return err
		}
	}
	return nil
}

// Drift returns drift records matching f, oldest first.
func (s *Store) Drift(ctx context.Context, f DriftFilter) ([]DriftRecord, error) {
	where, args := []string{"resolved_at IS NULL"}, []any{}
	if f.Resolved {
		where[0] = "resolved_at IS NOT NULL"
	}
	add := func(cond string, v any) {
		where = append(where, cond)
		args = append(args, v)
	}
	if f.Scope != "" {
		add("scope = ?", f.Scope)
	}
	if f.Type != "" {
		add("type = ?", f.Type)
	}
	if f.Kind != "" {
		add("kind = ?", f.Kind)
	}
	if f.EntryID != 0 {
		add("entry_id = ?", f.EntryID)
	}
	if !f.Since.IsZero() {
		add("COALESCE(resolved_at, last_seen) >= ?", f.Since.UTC())
	}
	query := "SELECT " + driftCols + " FROM drift WHERE " + strings.Join(where, " AND ") + " ORDER BY first_seen, key"
	if f.Limit > 0 {
		query += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	var out []DriftRecord
	if err := sqlx.SelectContext(ctx, s.db, &out, s.db.Rebind(query), args...); err != nil && err != sql.ErrNoRows {
		return nil, fmt.Errorf("load drift: %w", mapError(err))
	}
	for i := range out {
		out[i].fixTimes()
	}
	return out, nil
}

// DriftByIDs returns the drift records with these ids, open or resolved,
// in no particular order; unknown ids are left out.
func (s *Store) DriftByIDs(ctx context.Context, ids []string) ([]DriftRecord, error) {
	var out []DriftRecord
	for _, chunk := range chunks(ids, 500) {
		query, args, err := sqlx.In("SELECT "+driftCols+" FROM drift WHERE id IN (?)", chunk)
		if err != nil {
			return nil, err
		}
		var recs []DriftRecord
		if err := sqlx.SelectContext(ctx, s.db, &recs, s.db.Rebind(query), args...); err != nil {
			return nil, fmt.Errorf("load drift by id: %w", mapError(err))
		}
		out = append(out, recs...)
	}
	for i := range out {
		out[i].fixTimes()
	}
	return out, nil
}

func (r *DriftRecord) fixTimes() {
	r.FirstSeen, r.LastSeen = r.FirstSeen.UTC(), r.LastSeen.UTC()
	if r.ResolvedAt != nil {
		t := r.ResolvedAt.UTC()
		r.ResolvedAt = &t
	}
}

func nullID(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}
