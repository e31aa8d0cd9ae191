package inventory

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/tana-cmdb/tana/schema"
)

// Version is one step of an entry's history.
type Version struct {
	Version   int64             `json:"version" db:"version"`
	ChangeSet string            `json:"change_set" db:"changeset_id"`
	Op        Op                `json:"op" db:"op"`
	Name      string            `json:"name" db:"name"`
	Changes   map[string]Change `json:"changes,omitempty" db:"-"`
	Actor     string            `json:"actor" db:"actor"`
	Source    string            `json:"source" db:"source"`
	Reason    string            `json:"reason,omitempty" db:"reason"`
	At        time.Time         `json:"at" db:"created_at"`
	RawChange string            `json:"-" db:"changes"`
}

// changeSet returns the id of the change set for meta in this transaction,
// creating it on first use: one import, one API call or one plan apply is
// one change set.
func (tx *Tx) changeSet(ctx context.Context, meta Meta) (string, error) {
	if id, ok := tx.cs[meta]; ok {
		return id, nil
	}
	if meta.Actor == "" {
		meta.Actor = "tana"
	}
	if meta.Source == "" {
		meta.Source = "api"
	}
	id := uuid.Must(uuid.NewV7()).String()
	_, err := tx.ExecContext(ctx, tx.Rebind("INSERT INTO changesets (id, actor, source, reason, created_at) VALUES (?, ?, ?, ?, ?)"),
		id, meta.Actor, meta.Source, meta.Reason, tx.now)
	if err != nil {
		return "", fmt.Errorf("record change set: %w", mapError(err))
	}
	tx.cs[meta] = id
	return id, nil
}

// History returns every version of an entry, oldest first.
func (s *Store) History(ctx context.Context, id int64) ([]Version, error) {
	if _, err := s.Get(ctx, id); err != nil {
		return nil, err
	}
	var vs []Version
	err := sqlx.SelectContext(ctx, s.db, &vs, s.db.Rebind(`SELECT v.version, v.changeset_id, v.op, v.name, v.changes,
		c.actor, c.source, c.reason, c.created_at FROM versions v JOIN changesets c ON c.id = v.changeset_id
		WHERE v.entry_id = ? ORDER BY v.version`), id)
	if err != nil {
		return nil, fmt.Errorf("load history of entry %d: %w", id, mapError(err))
	}
	for i := range vs {
		vs[i].At = vs[i].At.UTC()
		if vs[i].Changes, err = decodeChanges(vs[i].RawChange); err != nil {
			return nil, fmt.Errorf("decode history of entry %d version %d: %w", id, vs[i].Version, err)
		}
	}
	return vs, nil
}

// decodeChanges reads a version's changes as appendChanges writes them. A
// change is a JSON object {"old":…,"new":…}; a bare value (never an
// object: attribute values are scalars or lists) is a create's new value.
func decodeChanges(raw string) (map[string]Change, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return nil, err
	}
	out := make(map[string]Change, len(m))
	for k, v := range m {
		var c Change
		if len(v) > 0 && v[0] == '{' {
			if err := json.Unmarshal(v, &c); err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
		} else if err := json.Unmarshal(v, &c.New); err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out[k] = c
	}
	return out, nil
}

// RedactChanges returns changes as output under r may show them: the old
// and new values of t's secret attributes masked (see schema.Redaction).
// changes is never modified.
func RedactChanges(t *schema.EntityType, changes map[string]Change, r schema.Redaction) map[string]Change {
	var out map[string]Change // a copy, made only if something is hidden
	for k, c := range changes {
		if !t.Hides(k, r) {
			continue
		}
		if out == nil {
			out = maps.Clone(changes)
		}
		out[k] = Change{Old: t.RedactValue(k, c.Old, r), New: t.RedactValue(k, c.New, r)}
	}
	if out == nil {
		return changes
	}
	return out
}
