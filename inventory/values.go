package inventory

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/tana-cmdb/tana/migrations"
	"github.com/tana-cmdb/tana/schema"
)

// entry_values is the search index: one row per scalar value of an
// entry's searchable attributes, keyed (type, attr, value, entry_id).

// maxIndexed is the longest value kept in the search index (B-tree keys
// have a size limit on PostgreSQL); longer values are stored, not searchable.
const maxIndexed = 512

// maxPendingValues bounds the search rows a batch holds before writing
// them: sorted runs of this size keep most of the gain of key order.
const maxPendingValues = 1 << 20

// searchable reports whether an attribute's values go into entry_values.
func searchable(a *schema.Attribute) bool {
	return a.Type.Kind != schema.KindText && a.Type.Kind != schema.KindRef && !a.Secret
}

// valueRow is an entry_values row within its (type, attribute) run.
type valueRow struct {
	value string
	id    int64
	num   float64
	isNum bool
}

// valueRuns gathers search rows by type and attribute. Each run is written
// sorted by key: B-tree inserts in key order append to the last page
// instead of splitting pages all over the index, which halves their cost.
//
// With unique set they are unique_values rows instead: every scalar of the
// attribute, searchable or not, and no number.
type valueRuns struct {
	runs   map[[2]string][]valueRow
	keys   [][2]string // the runs in key order; nil until sorted
	n      int
	unique bool
}

// add queues the rows of one attribute value of entry id; a list's
// repeated value is indexed once.
func (vr *valueRuns) add(typ string, a *schema.Attribute, id int64, v any) {
	if !vr.unique && !searchable(a) {
		return
	}
	if vr.runs == nil {
		vr.runs = map[[2]string][]valueRow{}
	}
	vr.keys = nil
	k := [2]string{typ, a.Name}
	run := vr.runs[k]
	first := len(run)
	for _, x := range scalars(v) {
		s, num := indexValue(x)
		if (len(s) > maxIndexed && !vr.unique) || slices.ContainsFunc(run[first:], func(r valueRow) bool { return r.value == s }) {
			continue
		}
		r := valueRow{value: s, id: id}
		if num != nil {
			r.num, r.isNum = *num, true
		}
		if len(run) == cap(run) {
			// Doubling: append grows big slices by a quarter, which
			// allocates five times the run's final size along the way.
			run = slices.Grow(run, max(len(run), 64))
		}
		run = append(run, r)
		vr.n++
	}
	vr.runs[k] = run
}

// searchWriter writes entry_values rows.
func (tx *Tx) searchWriter() *rowWriter {
	return tx.sharedWriter("entry_values", []string{"type", "attr"}, "value", "entry_id", "num")
}

// uniqueWriter writes unique_values rows.
func (tx *Tx) uniqueWriter() *rowWriter {
	return tx.sharedWriter("unique_values", []string{"type", "attr"}, "value", "entry_id")
}

// sort puts the runs, and the rows of each, in key order.
func (vr *valueRuns) sort() {
	vr.keys = make([][2]string, 0, len(vr.runs))
	for k := range vr.runs {
		vr.keys = append(vr.keys, k)
	}
	slices.SortFunc(vr.keys, func(a, b [2]string) int { return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1])) })
	for _, k := range vr.keys {
		slices.SortFunc(vr.runs[k], func(a, b valueRow) int { return cmp.Or(strings.Compare(a.value, b.value), cmp.Compare(a.id, b.id)) })
	}
}

// send hands the rows to rw (of entry_values, or of unique_values if
// unique) in key order, without waiting for them to be written; it
// empties vr.
func (vr *valueRuns) send(ctx context.Context, rw *rowWriter) error {
	if vr.keys == nil {
		vr.sort()
	}
	for _, k := range vr.keys {
		if err := rw.share(ctx, k[0], k[1]); err != nil {
			return err
		}
		for _, r := range vr.runs[k] {
			var err error
			switch {
			case vr.unique:
				err = rw.add(ctx, r.value, r.id)
			case r.isNum:
				err = rw.add(ctx, r.value, r.id, r.num)
			default: // NULL; a *float64 would cost the driver reflection
				err = rw.add(ctx, r.value, r.id, nil)
			}
			if err != nil {
				return err
			}
		}
	}
	vr.runs, vr.keys, vr.n = nil, nil, 0
	return rw.send(ctx)
}

// eachOldValue calls fn with the text of every old value of the
// attributes a write changed, or of all its old attributes: the keys of
// the rows it gives up. They are derived without asking whether the
// attribute is searchable or unique now, so rows written under an older
// definition go too; a key with no row deletes nothing.
func eachOldValue(w *write, all bool, fn func(attr, value string)) {
	each := func(attr string) {
		for _, x := range scalars(w.old.Attrs[attr]) {
			s, _ := indexValue(x)
			fn(attr, s)
		}
	}
	if all {
		for attr := range w.old.Attrs {
			each(attr)
		}
		return
	}
	for attr := range w.changes {
		each(attr)
	}
}

// appendValueKeys appends the keys (type, attr, value, entry_id) of the
// search rows an update replaces.
func appendValueKeys(keys []any, w *write) []any {
	eachOldValue(w, false, func(attr, s string) {
		if a := w.t.Attr(attr); a != nil && a.Type.Kind != schema.KindRef && len(s) <= maxIndexed {
			keys = append(keys, w.t.Name, attr, s, w.id)
		}
	})
	return keys
}

// appendUniqueKeys appends the keys (type, attr, value) of the unique
// values a write gives up: an update those of the attributes it changed,
// a delete all of them.
func appendUniqueKeys(keys []any, w *write, all bool) []any {
	eachOldValue(w, all, func(attr, s string) { keys = append(keys, w.t.Name, attr, s) })
	return keys
}

// refRow is a refs row.
type refRow struct {
	to, from, pos int64
	attr          string
}

// refRuns gathers reference rows to write them sorted by key (to_id,
// attr, from_id, pos), for the reason valueRuns sorts.
type refRuns struct {
	rows   []refRow
	sorted bool
}

// refWriter writes refs rows.
func (tx *Tx) refWriter() *rowWriter {
	return tx.rowWriter("refs", "to_id", "attr", "from_id", "pos")
}

func (rr *refRuns) add(r refRow) {
	if len(rr.rows) == cap(rr.rows) {
		rr.rows = slices.Grow(rr.rows, max(len(rr.rows), 64)) // doubling, as for value runs
	}
	rr.rows = append(rr.rows, r)
	rr.sorted = false
}

func (rr *refRuns) sort() {
	slices.SortFunc(rr.rows, func(a, b refRow) int {
		return cmp.Or(cmp.Compare(a.to, b.to), strings.Compare(a.attr, b.attr), cmp.Compare(a.from, b.from), cmp.Compare(a.pos, b.pos))
	})
	rr.sorted = true
}

// send hands the rows to rw in key order without waiting for them to be
// written; it empties rr.
func (rr *refRuns) send(ctx context.Context, rw *rowWriter) error {
	if !rr.sorted {
		rr.sort()
	}
	for _, r := range rr.rows {
		if err := rw.add(ctx, r.to, r.attr, r.from, r.pos); err != nil {
			return err
		}
	}
	rr.rows = rr.rows[:0]
	return rw.send(ctx)
}

// appendRefKeys appends the keys (to_id, attr, from_id, pos) of the refs
// rows an update replaces: those of every reference attribute it changed.
func appendRefKeys(keys []any, w *write) []any {
	for attr := range w.changes {
		for pos, to := range w.old.RefIDs[attr] {
			keys = append(keys, to, attr, w.id, int64(pos))
		}
	}
	return keys
}

// deletePer is how many keys one DELETE by key names.
const deletePer = 250

// deleteKeys deletes rows by primary key, deletePer keys a statement
// (each an equality on the whole key, which both databases answer with
// one index probe per key). keys is flat: len(cols) values a key.
func (tx *Tx) deleteKeys(ctx context.Context, table string, cols []string, keys []any) error {
	if len(keys) == 0 {
		return nil
	}
	if err := tx.drain(); err != nil { // the rows queued before go first
		return err
	}
	var full *sql.Stmt
	defer func() {
		if full != nil {
			tx.s.logClose(ctx, "delete from "+table, full)
		}
	}()
	per := deletePer * len(cols)
	for len(keys) > 0 {
		chunk := keys[:min(len(keys), per)]
		keys = keys[len(chunk):]
		var err error
		switch {
		case len(chunk) < per:
			_, err = tx.ExecContext(ctx, tx.deleteSQL(table, cols, len(chunk)/len(cols)), chunk...)
		case full == nil:
			if full, err = tx.PrepareContext(ctx, tx.deleteSQL(table, cols, deletePer)); err == nil {
				_, err = full.ExecContext(ctx, chunk...)
			}
		default:
			_, err = full.ExecContext(ctx, chunk...)
		}
		if err != nil {
			return fmt.Errorf("clear %s: %w", table, mapError(err))
		}
	}
	return nil
}

// deleteSQL is the DELETE of n keys: (col = ? AND …) OR …, with numbered
// parameters.
func (tx *Tx) deleteSQL(table string, cols []string, n int) string {
	mark := "?"
	if tx.s.dialect == migrations.Postgres {
		mark = "$"
	}
	var b strings.Builder
	b.WriteString("DELETE FROM " + table + " WHERE ")
	p := 0
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(" OR ")
		}
		b.WriteByte('(')
		for j, c := range cols {
			if j > 0 {
				b.WriteString(" AND ")
			}
			p++
			b.WriteString(c + " = " + mark + strconv.Itoa(p))
		}
		b.WriteByte(')')
	}
	return b.String()
}
