package inventory

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/tana-cmdb/tana/schema"
)

// Binding ties an entry to the object a source knows it by, per scope
// ("vsphere:vc1" + instance UUID), so a rename is never a delete + create.
type Binding struct {
	Scope     string    `json:"scope" db:"scope"`
	ObjectID  string    `json:"object_id" db:"object_id"`
	EntryID   int64     `json:"entry_id" db:"entry_id"`
	FirstSeen time.Time `json:"first_seen" db:"first_seen"`
	LastSeen  time.Time `json:"last_seen" db:"last_seen"`
}

// Bindings returns every binding of a scope.
func (s *Store) Bindings(ctx context.Context, scope string) ([]Binding, error) {
	var out []Binding
	err := sqlx.SelectContext(ctx, s.db, &out, s.db.Rebind(
		"SELECT scope, object_id, entry_id, first_seen, last_seen FROM entry_sources WHERE scope = ? ORDER BY object_id"), scope)
	if err != nil {
		return nil, fmt.Errorf("load bindings of %s: %w", scope, mapError(err))
	}
	return out, nil
}

// EntryBindings returns the bindings of one entry, across scopes.
func (s *Store) EntryBindings(ctx context.Context, entryID int64) ([]Binding, error) {
	var out []Binding
	err := sqlx.SelectContext(ctx, s.db, &out, s.db.Rebind(
		"SELECT scope, object_id, entry_id, first_seen, last_seen FROM entry_sources WHERE entry_id = ? ORDER BY scope"), entryID)
	if err != nil {
		return nil, fmt.Errorf("load bindings of entry %d: %w", entryID, mapError(err))
	}
	return out, nil
}

// Bind records that objects of a scope were seen as these entries now.
func (tx *Tx) Bind(ctx context.Context, scope string, objects map[string]int64) error {
	rw := tx.upsertWriter("entry_sources", "ON CONFLICT (scope, object_id) DO UPDATE SET entry_id = excluded.entry_id, last_seen = excluded.last_seen",
		"scope", "object_id", "entry_id", "first_seen", "last_seen")
	sc, now := any(scope), any(tx.now)
	for obj, id := range objects {
		if err := rw.add(ctx, sc, obj, id, now, now); err != nil {
			return fmt.Errorf("bind %s objects: %w", scope, err)
		}
	}
	if err := rw.flush(ctx); err != nil {
		return fmt.Errorf("bind %s objects: %w", scope, err)
	}
	return nil
}

// Unbind forgets objects of a scope.
func (tx *Tx) Unbind(ctx context.Context, scope string, objectIDs []string) error {
	for _, chunk := range chunks(objectIDs, 500) {
		query, args, err := sqlx.In("DELETE FROM entry_sources WHERE scope = ? AND object_id IN (?)", scope, chunk)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(query), args...); err != nil {
			return fmt.Errorf("unbind %s objects: %w", scope, mapError(err))
		}
	}
	return nil
}

// Provenance is where an observed value came from and when it was last seen.
type Provenance struct {
	EntryID int64     `json:"entry_id" db:"entry_id"`
	Attr    string    `json:"attr" db:"attr"`
	Source  string    `json:"source" db:"source"`
	Value   any       `json:"value" db:"-"`
	Raw     string    `json:"-" db:"value"`
	SeenAt  time.Time `json:"seen_at" db:"seen_at"`
}

// SetProvenance records what sources reported, stamped with the
// transaction's time.
func (tx *Tx) SetProvenance(ctx context.Context, ps []Provenance) error {
	rw := tx.upsertWriter("provenance", "ON CONFLICT (entry_id, attr, source) DO UPDATE SET value = excluded.value, seen_at = excluded.seen_at",
		"entry_id", "attr", "source", "value", "seen_at")
	now := any(tx.now)
	for _, p := range ps {
		b, err := schema.AppendJSON(nil, p.Value)
		if err != nil {
			return fmt.Errorf("provenance of %s: %w", p.Attr, err)
		}
		if err := rw.add(ctx, p.EntryID, p.Attr, p.Source, string(b), now); err != nil {
			return fmt.Errorf("record provenance: %w", err)
		}
	}
	if err := rw.flush(ctx); err != nil {
		return fmt.Errorf("record provenance: %w", err)
	}
	return nil
}

// Provenance returns what each source last reported for an entry's
// attributes, by attribute then source.
func (s *Store) Provenance(ctx context.Context, entryID int64) ([]Provenance, error) {
	var out []Provenance
	err := sqlx.SelectContext(ctx, s.db, &out, s.db.Rebind(
		"SELECT entry_id, attr, source, value, seen_at FROM provenance WHERE entry_id = ? ORDER BY attr, source"), entryID)
	if err != nil {
		return nil, fmt.Errorf("load provenance of entry %d: %w", entryID, mapError(err))
	}
	for i := range out {
		out[i].SeenAt = out[i].SeenAt.UTC()
		if err := json.Unmarshal([]byte(out[i].Raw), &out[i].Value); err != nil {
			return nil, fmt.Errorf("decode provenance: %w", err)
		}
	}
	return out, nil
}
