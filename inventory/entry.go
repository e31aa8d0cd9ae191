package inventory

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/tana-cmdb/tana/schema"
)

// Entry statuses. A stale entry is one its source stopped reporting.
const (
	StatusActive = "active"
	StatusStale  = "stale"
)

// Entry is an instance of an entity type. Attrs holds canonical values;
// a reference is the referenced entry's name (a list of names for list
// references) and RefIDs holds the same references by entry id.
type Entry struct {
	ID            int64              `json:"id"`
	Type          string             `json:"type"`
	Name          string             `json:"name"`
	Attrs         map[string]any     `json:"attrs"`
	RefIDs        map[string][]int64 `json:"-"`
	Version       int64              `json:"version"`
	Status        string             `json:"status"`
	CreatedAt     time.Time          `json:"created_at"`
	UpdatedAt     time.Time          `json:"updated_at"`
	DeletedAt     *time.Time         `json:"deleted_at,omitempty"`
	DeletedReason string             `json:"deleted_reason,omitempty"`
}

// Deleted reports whether the entry is soft-deleted.
func (e *Entry) Deleted() bool { return e.DeletedAt != nil }

func (e *Entry) String() string { return e.Type + "/" + e.Name }

// row is an entries row as stored.
type row struct {
	ID            int64        `db:"id"`
	Type          string       `db:"type"`
	Name          string       `db:"name"`
	Attrs         string       `db:"attrs"`
	Version       int64        `db:"version"`
	Status        string       `db:"status"`
	CreatedAt     time.Time    `db:"created_at"`
	UpdatedAt     time.Time    `db:"updated_at"`
	DeletedAt     sql.NullTime `db:"deleted_at"`
	DeletedReason string       `db:"deleted_reason"`
	RefIDs        string       `db:"ref_ids"`
	Epoch         int64        `db:"name_epoch"` // if selected (epochCol)
	RefTo         int64        `db:"ref_to"`     // if selected (Referrers)
}

const entryCols = "id, type, name, attrs, version, status, created_at, updated_at, deleted_at, deleted_reason, ref_ids"

// epochCol, selected after entryCols, is the name epoch the rows are read
// at, which lets their references be named from the store's name cache
// (see nameCache).
const epochCol = "(SELECT epoch FROM name_epoch) AS name_epoch"

// selectRows runs a query of entryCols, after ref_to (a back-reference's
// target) and before name_epoch (epochCol) where the query selects them.
func selectRows(ctx context.Context, db q, query string, args []any) ([]*row, error) {
	rs, err := db.QueryContext(ctx, query, args...) //nolint:rowserrcheck // scanRows checks rs.Err
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	cols, err := rs.Columns()
	if err != nil {
		return nil, err
	}
	return scanRows(cols, rs)
}

// rowScanner is what scanRows needs of a result: database/sql's or pgx's.
type rowScanner interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// scanRows scans the rows of a query of entryCols (see selectRows) with
// plain scans. Rows are scanned into one row and copied out: a slice of
// rows grown by append would copy every row scanned so far.
func scanRows(cols []string, rs rowScanner) ([]*row, error) {
	var r row
	dest := []any{&r.ID, &r.Type, &r.Name, &r.Attrs, &r.Version, &r.Status, &r.CreatedAt, &r.UpdatedAt, &r.DeletedAt, &r.DeletedReason, &r.RefIDs}
	if cols[0] == "ref_to" {
		dest = append([]any{&r.RefTo}, dest...)
	}
	if cols[len(cols)-1] == "name_epoch" {
		dest = append(dest, &r.Epoch)
	}
	var out []*row
	for rs.Next() {
		if err := rs.Scan(dest...); err != nil {
			return nil, err
		}
		c := r
		out = append(out, &c)
	}
	return out, rs.Err()
}

// decode turns a row into an Entry (without references).
func (s *Store) decode(r *row) (*Entry, error) {
	e := &Entry{ID: r.ID, Type: r.Type, Name: r.Name, Version: r.Version, Status: r.Status,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), DeletedReason: r.DeletedReason}
	if r.DeletedAt.Valid {
		t := r.DeletedAt.Time.UTC()
		e.DeletedAt = &t
	}
	var err error
	if e.RefIDs, err = refIDMap(r.RefIDs); err != nil {
		return nil, fmt.Errorf("entry %d: %w", r.ID, err)
	}
	if e.Attrs, err = s.decodeJSON(r.Type, r.Attrs, len(e.RefIDs)); err != nil {
		return nil, fmt.Errorf("entry %d: %w", r.ID, err)
	}
	return e, nil
}

// decodeJSON decodes stored attributes: the store's own flat JSON by
// hand, anything else with encoding/json. refs is how many reference
// attributes will be added to the map.
func (s *Store) decodeJSON(typ, raw string, refs int) (map[string]any, error) {
	if t, err := s.reg.Type(typ); err == nil {
		if m, ok := decodeFlat(t, raw, refs); ok {
			return m, nil
		}
	}
	return decodeAttrs(s.reg, typ, raw)
}

// decodeAttrs parses stored JSON, restoring integers as int64. Attributes
// the type no longer has (removed from a types file) are kept out of view
// but stay stored, so re-adding the attribute brings the data back.
func decodeAttrs(reg *schema.Registry, typ, raw string) (map[string]any, error) {
	var m map[string]any
	d := json.NewDecoder(strings.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("decode attributes: %w", err)
	}
	t, err := reg.Type(typ)
	if err != nil {
		return m, nil
	}
	for k, v := range m {
		a := t.Attr(k)
		if a == nil {
			delete(m, k)
			continue
		}
		m[k] = fromJSON(a.Type.Kind, v)
	}
	return m, nil
}

func fromJSON(k schema.Kind, v any) any {
	switch x := v.(type) {
	case json.Number:
		if k == schema.KindInteger {
			if i, err := x.Int64(); err == nil {
				return i
			}
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = fromJSON(k, x[i])
		}
	}
	return v
}

// Get returns the entry with the given id, deleted or not.
func (s *Store) Get(ctx context.Context, id int64) (*Entry, error) {
	return getEntry(ctx, s.reader(), s, "id = ?", id)
}

// GetByName returns the live entry of a type with a name.
func (s *Store) GetByName(ctx context.Context, typ, name string) (*Entry, error) {
	if _, err := s.reg.Type(typ); err != nil {
		return nil, err
	}
	return getEntry(ctx, s.reader(), s, "type = ? AND name = ? AND deleted_at IS NULL", typ, name)
}

// GetDeleted returns the most recently deleted entry of a type with a name.
func (s *Store) GetDeleted(ctx context.Context, typ, name string) (*Entry, error) {
	return getEntry(ctx, s.reader(), s, "type = ? AND name = ? AND deleted_at IS NOT NULL ORDER BY deleted_at DESC, id DESC LIMIT 1", typ, name)
}

func getEntry(ctx context.Context, db q, s *Store, where string, args ...any) (*Entry, error) {
	var r row
	err := sqlx.GetContext(ctx, db, &r, db.Rebind("SELECT "+entryCols+", "+epochCol+" FROM entries WHERE "+where), args...)
	if err == sql.ErrNoRows {
		return nil, schema.Errorf(schema.ENOTFOUND, "entry not found (%s)", describeArgs(where, args))
	}
	if err != nil {
		return nil, fmt.Errorf("load entry: %w", mapError(err))
	}
	e, err := s.decode(&r)
	if err != nil {
		return nil, err
	}
	if err := s.attachRefs(ctx, db, r.Epoch, []*Entry{e}); err != nil {
		return nil, err
	}
	return e, nil
}

func describeArgs(where string, args []any) string {
	parts := strings.Fields(where)
	var out []string
	ai := 0
	for i, p := range parts {
		if p == "?" && i >= 2 && ai < len(args) {
			out = append(out, fmt.Sprintf("%s %v", parts[i-2], args[ai]))
			ai++
		}
	}
	return strings.Join(out, ", ")
}

// GetMany returns the entries with the given ids, keyed by id; ids that do
// not exist are absent. One query for entries, one for their references.
func (s *Store) GetMany(ctx context.Context, ids []int64) (map[int64]*Entry, error) {
	out := make(map[int64]*Entry, len(ids))
	for _, chunk := range chunks(ids, 500) {
		query, args, err := sqlx.In("SELECT "+entryCols+", "+epochCol+" FROM entries WHERE id IN (?)", chunk)
		if err != nil {
			return nil, err
		}
		rows, err := selectRows(ctx, s.db, s.db.Rebind(query), args)
		if err != nil {
			return nil, fmt.Errorf("load entries: %w", mapError(err))
		}
		list, err := s.decodeAll(ctx, s.db, rows)
		if err != nil {
			return nil, err
		}
		for _, e := range list {
			out[e.ID] = e
		}
	}
	return out, nil
}

func chunks[T any](xs []T, n int) [][]T {
	var out [][]T
	for len(xs) > n {
		out = append(out, xs[:n])
		xs = xs[n:]
	}
	if len(xs) > 0 {
		out = append(out, xs)
	}
	return out
}

// indexValue is the text form of a scalar for entry_values, and its number
// for range queries.
func indexValue(v any) (string, *float64) {
	switch x := v.(type) {
	case string:
		return x, nil
	case int64:
		f := float64(x)
		return strconv.FormatInt(x, 10), &f
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), &x
	case bool:
		return strconv.FormatBool(x), nil
	}
	return fmt.Sprint(v), nil
}
