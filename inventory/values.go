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
type valueRuns struct {
	runs map[[2]string][]valueRow
	n    int
}

// add queues the rows of one attribute value of entry id; a list's
// repeated value is indexed once.
func (vr *valueRuns) add(typ string, a *schema.Attribute, id int64, v any) {
	if !searchable(a) {
		return
	}
	if vr.runs == nil {
		vr.runs = map[[2]string][]valueRow{}
	}
	k := [2]string{typ, a.Name}
	run := vr.runs[k]
	first := len(run)
	for _, x := range scalars(v) {
		s, num := indexValue(x)
		if len(s) > maxIndexed || slices.ContainsFunc(run[first:], func(r valueRow) bool { return r.value == s }) {
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

// write sorts and inserts the queued rows, run by run, and empties vr.
func (vr *valueRuns) write(ctx context.Context, tx *Tx) error {
	if vr.n == 0 {
		return nil
	}
	rw := tx.sharedWriter("entry_values", []string{"type", "attr"}, "value", "entry_id", "num")
	defer rw.release()
	keys := make([][2]string, 0, len(vr.runs))
	for k := range vr.runs {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]string) int { return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1])) })
	for _, k := range keys {
		run := vr.runs[k]
		slices.SortFunc(run, func(a, b valueRow) int { return cmp.Or(strings.Compare(a.value, b.value), cmp.Compare(a.id, b.id)) })
		if err := rw.share(ctx, k[0], k[1]); err != nil {
			return err
		}
		for _, r := range run {
			// NULL, or the number itself: a *float64 costs the driver reflection.
			var num any
			if r.isNum {
				num = r.num
			}
			if err := rw.add(ctx, r.value, r.id, num); err != nil {
				return err
			}
		}
	}
	vr.runs, vr.n = nil, 0
	return rw.flush(ctx)
}

// valueKey is the key of an entry_values row.
type valueKey struct {
	typ, attr, value string
	id               int64
}

// appendValueKeys appends the keys of the search rows an update replaces:
// those of the old values of every attribute it changed. They are derived
// without asking whether the attribute is searchable now, so rows written
// under an older definition go too; a key with no row deletes nothing.
func appendValueKeys(keys []valueKey, w *write) []valueKey {
	for attr := range w.changes {
		a := w.t.Attr(attr)
		if a == nil || a.Type.Kind == schema.KindRef {
			continue
		}
		for _, x := range scalars(w.old.Attrs[attr]) {
			s, _ := indexValue(x)
			if len(s) <= maxIndexed {
				keys = append(keys, valueKey{w.t.Name, attr, s, w.id})
			}
		}
	}
	return keys
}

// deletePer is how many keys one DELETE of search rows names.
const deletePer = 250

// deleteValues deletes search rows by key, deletePer keys a statement
// (each an equality on the whole primary key, which both databases answer
// with one index probe per key).
func (tx *Tx) deleteValues(ctx context.Context, keys []valueKey) error {
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	args := make([]any, 0, 4*deletePer)
	for len(keys) > 0 {
		chunk := keys[:min(len(keys), deletePer)]
		keys = keys[len(chunk):]
		args = args[:0]
		for _, k := range chunk {
			args = append(args, k.typ, k.attr, k.value, k.id)
		}
		var err error
		switch {
		case len(chunk) < deletePer:
			_, err = tx.ExecContext(ctx, tx.deleteValuesSQL(len(chunk)), args...)
		case full == nil:
			if full, err = tx.PrepareContext(ctx, tx.deleteValuesSQL(deletePer)); err == nil {
				_, err = full.ExecContext(ctx, args...)
			}
		default:
			_, err = full.ExecContext(ctx, args...)
		}
		if err != nil {
			return fmt.Errorf("clear entry_values: %w", mapError(err))
		}
	}
	return nil
}

func (tx *Tx) deleteValuesSQL(n int) string {
	mark := "?"
	if tx.s.dialect == migrations.Postgres {
		mark = "$"
	}
	var b strings.Builder
	b.WriteString("DELETE FROM entry_values WHERE ")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(" OR ")
		}
		p := func(j int) string { return mark + strconv.Itoa(4*i+j) }
		b.WriteString("(type = " + p(1) + " AND attr = " + p(2) + " AND value = " + p(3) + " AND entry_id = " + p(4) + ")")
	}
	return b.String()
}
