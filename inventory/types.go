package inventory

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/tana-cmdb/tana/schema"
)

// SyncTypes brings stored data in line with the entity types and records
// the types' definitions. A renamed attribute (renamed_from in its types
// file) has its values, references and index rows moved to the new name;
// a removed attribute's values stay stored, out of view, so nothing is lost.
func (s *Store) SyncTypes(ctx context.Context) error {
	// Most runs (every CLI command) find nothing to do: check that without
	// taking the write lock.
	if same, err := s.typesRecorded(ctx); err != nil || same {
		return err
	}
	return s.InTx(ctx, func(tx *Tx) error {
		stored := map[string]schema.EntityType{}
		var rows []struct {
			Name string `db:"name"`
			Def  string `db:"definition"`
		}
		if err := sqlx.SelectContext(ctx, tx, &rows, "SELECT name, definition FROM entity_types"); err != nil {
			return fmt.Errorf("load stored types: %w", mapError(err))
		}
		for _, r := range rows {
			var t schema.EntityType
			if err := json.Unmarshal([]byte(r.Def), &t); err != nil {
				return fmt.Errorf("decode stored type %q: %w", r.Name, err)
			}
			stored[r.Name] = t
		}
		for _, t := range s.reg.Types() {
			if old, ok := stored[t.Name]; ok {
				if err := tx.renameAttrs(ctx, t, &old); err != nil {
					return err
				}
				olds := parseAttrs(&old)
				if err := tx.resyncValues(ctx, t, olds); err != nil {
					return err
				}
				if err := tx.resyncUnique(ctx, t, olds); err != nil {
					return err
				}
			}
			def, err := json.Marshal(t)
			if err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, tx.Rebind(`INSERT INTO entity_types (name, definition, updated_at) VALUES (?, ?, ?)
				ON CONFLICT (name) DO UPDATE SET definition = excluded.definition, updated_at = excluded.updated_at`), t.Name, string(def), tx.now)
			if err != nil {
				return fmt.Errorf("record type %q: %w", t.Name, mapError(err))
			}
		}
		return nil
	})
}

// typesRecorded reports whether the stored definitions are exactly the
// registry's.
func (s *Store) typesRecorded(ctx context.Context) (bool, error) {
	var rows []struct {
		Name string `db:"name"`
		Def  string `db:"definition"`
	}
	if err := sqlx.SelectContext(ctx, s.db, &rows, "SELECT name, definition FROM entity_types"); err != nil {
		return false, fmt.Errorf("load stored types: %w", mapError(err))
	}
	stored := make(map[string]string, len(rows))
	for _, r := range rows {
		stored[r.Name] = r.Def
	}
	for _, t := range s.reg.Types() {
		def, err := json.Marshal(t)
		if err != nil {
			return false, err
		}
		if stored[t.Name] != string(def) {
			return false, nil
		}
	}
	return true, nil
}

func hasAttr(t *schema.EntityType, name string) bool {
	for _, a := range t.Attributes {
		if a.Name == name {
			return true
		}
	}
	return false
}

// renameAttrs moves data of attributes renamed since the stored definition.
func (tx *Tx) renameAttrs(ctx context.Context, t *schema.EntityType, old *schema.EntityType) error {
	for _, a := range t.Attributes {
		for _, from := range a.RenamedFrom {
			if !hasAttr(old, from) || hasAttr(old, a.Name) {
				continue
			}
			n, err := tx.renameAttr(ctx, t.Name, from, a.Name)
			if err != nil {
				return fmt.Errorf("rename %s.%s to %s: %w", t.Name, from, a.Name, err)
			}
			tx.s.log.Info("attribute renamed", "type", t.Name, "from", from, "to", a.Name, "entries", n)
		}
	}
	return nil
}

// storedRow is an entry's id, stored attributes and references.
type storedRow struct {
	ID     int64  `db:"id"`
	Attrs  string `db:"attrs"`
	RefIDs string `db:"ref_ids"`
}

// storedRows loads the stored attributes of every entry of a type,
// deleted ones included.
func (tx *Tx) storedRows(ctx context.Context, typ string) ([]storedRow, error) {
	var rows []storedRow
	if err := sqlx.SelectContext(ctx, tx, &rows, tx.Rebind("SELECT id, attrs, ref_ids FROM entries WHERE type = ?"), typ); err != nil {
		return nil, mapError(err)
	}
	return rows, nil
}

// oldAttrs are the attributes of a type's stored definition.
type oldAttrs []*schema.Attribute

// parseAttrs reads the attributes of a stored definition, which carries
// each attribute's type as text.
func parseAttrs(old *schema.EntityType) oldAttrs {
	olds := make(oldAttrs, len(old.Attributes))
	for i, a := range old.Attributes {
		o := *a
		o.Type, _ = schema.ParseValueType(a.TypeName)
		olds[i] = &o
	}
	return olds
}

func (olds oldAttrs) attr(name string) *schema.Attribute {
	for _, a := range olds {
		if a.Name == name {
			return a
		}
	}
	return nil
}

// changed compares the attributes that have a property (searchable,
// unique) in the stored definition and in t. stale names the attributes
// whose rows go: removed ones, and those that lose the property or change
// kind. rebuild lists those that gain it (added, or changed) or change
// kind. A renamed attribute is compared with the one it was renamed from,
// whose rows renameAttr has moved to the new name.
func (olds oldAttrs) changed(t *schema.EntityType, has func(*schema.Attribute) bool) (stale []string, rebuild []*schema.Attribute) {
	for _, o := range olds {
		if has(o) && t.Attr(o.Name) == nil {
			stale = append(stale, o.Name)
		}
	}
	for _, a := range t.Attributes {
		prev := olds.attr(a.Name)
		for _, from := range a.RenamedFrom {
			if prev != nil {
				break
			}
			prev = olds.attr(from)
		}
		had := prev != nil && has(prev)
		if had && has(a) && prev.Type == a.Type {
			continue
		}
		if had || has(a) {
			stale = append(stale, a.Name) // cleared before a rebuild too
		}
		if has(a) {
			rebuild = append(rebuild, a)
		}
	}
	return stale, rebuild
}

// resyncValues keeps the search index true to a changed type: an
// attribute that stops being searchable (removed, made secret or text)
// loses its rows; one that becomes searchable (added back, made plain) or
// changes kind is indexed again from the stored values. Updates only
// replace the rows of attributes they change, so nothing else would.
func (tx *Tx) resyncValues(ctx context.Context, t *schema.EntityType, olds oldAttrs) error {
	stale, rebuild := olds.changed(t, searchable)
	for _, name := range stale {
		if _, err := tx.ExecContext(ctx, tx.Rebind("DELETE FROM entry_values WHERE type = ? AND attr = ?"), t.Name, name); err != nil {
			return fmt.Errorf("clear index of %s.%s: %w", t.Name, name, mapError(err))
		}
	}
	if len(rebuild) == 0 {
		return nil
	}
	rows, err := tx.storedRows(ctx, t.Name)
	if err != nil {
		return fmt.Errorf("load %s entries: %w", t.Name, err)
	}
	var values valueRuns
	for _, r := range rows {
		attrs, err := tx.s.decodeJSON(t.Name, r.Attrs, 0)
		if err != nil {
			return fmt.Errorf("entry %d: %w", r.ID, err)
		}
		for _, a := range rebuild {
			if v, ok := attrs[a.Name]; ok {
				values.add(t.Name, a, r.ID, v)
			}
		}
	}
	tx.s.log.Info("search index rebuilt", "type", t.Name, "attrs", len(rebuild), "rows", values.n)
	rw := tx.searchWriter()
	if err := values.send(ctx, rw); err != nil {
		return err
	}
	return rw.flush(ctx)
}

// resyncUnique keeps unique values true to a changed type: an attribute
// that stops being unique (or is removed) frees its values; one that
// becomes unique claims the values live entries hold, and fails — nothing
// changed — if two of them hold the same one, since the store could not
// enforce uniqueness from then on.
func (tx *Tx) resyncUnique(ctx context.Context, t *schema.EntityType, olds oldAttrs) error {
	stale, rebuild := olds.changed(t, func(a *schema.Attribute) bool { return a.Unique })
	for _, name := range stale {
		if _, err := tx.ExecContext(ctx, tx.Rebind("DELETE FROM unique_values WHERE type = ? AND attr = ?"), t.Name, name); err != nil {
			return fmt.Errorf("free unique values of %s.%s: %w", t.Name, name, mapError(err))
		}
	}
	if len(rebuild) == 0 {
		return nil
	}
	rows, err := selectRows(ctx, tx, tx.Rebind("SELECT "+entryCols+" FROM entries WHERE type = ? AND deleted_at IS NULL ORDER BY id"), []any{t.Name})
	if err != nil {
		return fmt.Errorf("load %s entries: %w", t.Name, mapError(err))
	}
	entries, err := tx.s.decodeAll(ctx, tx, rows) // a unique reference holds the target's name
	if err != nil {
		return err
	}
	uniq := valueRuns{unique: true}
	for _, a := range rebuild {
		holders := map[string]string{}
		for _, e := range entries {
			for _, x := range scalars(e.Attrs[a.Name]) {
				s, _ := indexValue(x)
				if h, ok := holders[s]; ok && h != e.Name {
					return schema.FieldErrorf(schema.ECONFLICT, t.Name+"."+a.Name,
						"cannot become unique: %s and %s both hold %q; change one, then load the types again", h, e.Name, s)
				}
				holders[s] = e.Name
			}
			if v, ok := e.Attrs[a.Name]; ok {
				uniq.add(t.Name, a, e.ID, v)
			}
		}
	}
	tx.s.log.Info("unique values claimed", "type", t.Name, "attrs", len(rebuild), "rows", uniq.n)
	rw := tx.uniqueWriter()
	if err := uniq.send(ctx, rw); err != nil {
		return err
	}
	return rw.flush(ctx)
}

func (tx *Tx) renameAttr(ctx context.Context, typ, from, to string) (int, error) {
	rows, err := tx.storedRows(ctx, typ)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range rows {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(r.Attrs), &m); err != nil {
			return n, err
		}
		attrs, refIDs := r.Attrs, renameRefIDs(r.RefIDs, from, to)
		if v, ok := m[from]; ok {
			delete(m, from)
			m[to] = v
			b, _ := json.Marshal(m)
			attrs = string(b)
		}
		if attrs == r.Attrs && refIDs == r.RefIDs {
			continue
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind("UPDATE entries SET attrs = ?, ref_ids = ? WHERE id = ?"), attrs, refIDs, r.ID); err != nil {
			return n, mapError(err)
		}
		n++
	}
	sub := "(SELECT id FROM entries WHERE type = ?)"
	for _, stmt := range []string{
		"UPDATE entry_values SET attr = ? WHERE attr = ? AND type = ?",
		"UPDATE unique_values SET attr = ? WHERE attr = ? AND type = ?",
		"UPDATE refs SET attr = ? WHERE attr = ? AND from_id IN " + sub,
		"UPDATE provenance SET attr = ? WHERE attr = ? AND entry_id IN " + sub,
	} {
		if _, err := tx.ExecContext(ctx, tx.Rebind(stmt), to, from, typ); err != nil {
			return n, mapError(err)
		}
	}
	return n, nil
}

// renameRefIDs renames attribute from to to in entries.ref_ids
// ("attr:id,attr:id"; the order of its items carries no meaning across
// attributes).
func renameRefIDs(refIDs, from, to string) string {
	if !strings.Contains(refIDs, from+":") {
		return refIDs
	}
	items := strings.Split(refIDs, ",")
	for i, it := range items {
		if rest, ok := strings.CutPrefix(it, from+":"); ok {
			items[i] = to + ":" + rest
		}
	}
	return strings.Join(items, ",")
}
