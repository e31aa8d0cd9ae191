package inventory

import (
	"cmp"
	"context"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"

	"github.com/jmoiron/sqlx"

	"github.com/tana-cmdb/tana/migrations"
	"github.com/tana-cmdb/tana/schema"
)

// Meta says who writes and why. Every version one call writes shares a
// change set made from it.
type Meta struct {
	Actor  string // user or token name, "tana" for the system
	Source string // api, import, vsphere:vc1, dns:example.com., plan:<id>
	Reason string
}

// Op is what a write did to an entry.
type Op string

const (
	OpCreate    Op = "create"
	OpUpdate    Op = "update"
	OpDelete    Op = "delete"
	OpRestore   Op = "restore"
	OpUnchanged Op = "unchanged"
)

// Change is one attribute's old and new value (nil when absent).
type Change struct {
	Old any `json:"old"`
	New any `json:"new"`
}

// Result is what a write did to one entry.
type Result struct {
	Index   int
	ID      int64
	Type    string
	Name    string
	Op      Op
	Version int64

	changes map[string]Change // an update's
	attrs   map[string]any    // the entry's attributes after the write
}

// Attrs returns the entry's attributes after the write (refs by name).
func (r Result) Attrs() map[string]any { return r.attrs }

// Changes returns what the write changed, attribute by attribute, "name"
// included when it changed. A create's changes, its name and every
// attribute as new values, are built when asked for: a bulk import would
// otherwise hold a second copy of everything it created (100 MB for
// 100,000 VMs).
func (r Result) Changes() map[string]Change {
	if r.Op != OpCreate {
		return r.changes
	}
	m := make(map[string]Change, len(r.attrs)+1)
	m["name"] = Change{New: r.Name}
	for k, v := range r.attrs {
		m[k] = Change{New: v}
	}
	return m
}

// write is one entry's new state as the batch pipeline takes it.
type write struct {
	index   int
	label   string // how errors name the item; "" for items[index]
	t       *schema.EntityType
	old     *Entry // nil for a create
	op      Op
	name    string
	attrs   map[string]any // complete new state, canonical, refs by name
	expect  int64          // expected version; 0 skips the check
	reason  string         // delete reason
	id      int64
	changes map[string]Change
}

// what is how errors name the write: made when needed, as most writes of
// a big batch never need it.
func (w *write) what() string {
	if w.label == "" {
		return "items[" + strconv.Itoa(w.index) + "]"
	}
	return w.label
}

func (w *write) errorf(code, field, format string, args ...any) error {
	f := w.what()
	if field != "" {
		f += "." + field
	}
	return schema.FieldErrorf(code, f, format, args...)
}

// diff fills an update's w.changes and turns an update without changes
// into unchanged. A create's changes are its attributes (see
// Result.Changes).
func (w *write) diff() {
	w.changes = make(map[string]Change, len(w.attrs)+1)
	if w.old.Name != w.name {
		w.changes["name"] = Change{Old: w.old.Name, New: w.name}
	}
	for k, v := range w.attrs {
		if o, ok := w.old.Attrs[k]; !ok || !reflect.DeepEqual(o, v) {
			w.changes[k] = Change{Old: o, New: v}
		}
	}
	for k, o := range w.old.Attrs {
		if _, ok := w.attrs[k]; !ok {
			w.changes[k] = Change{Old: o}
		}
	}
	if len(w.changes) == 0 {
		w.op = OpUnchanged
	}
}

// apply validates and writes a batch: nothing is written unless every
// write is valid. Reference and uniqueness checks are set-based.
func (tx *Tx) apply(ctx context.Context, meta Meta, ws []*write) ([]Result, error) {
	_ = parallel(len(ws), func(lo, hi int) error { // diff cannot fail
		for _, w := range ws[lo:hi] {
			if w.op == OpUpdate {
				w.diff()
			}
		}
		return nil
	})
	if err := guard(ctx, ws); err != nil {
		return nil, err
	}
	// The checks that need no database run beside those that do; their
	// error comes first, as it would in sequence.
	batchErr := make(chan error, 1)
	go func() { batchErr <- checkBatch(ws) }()
	refs, err := tx.resolveRefs(ctx, ws)
	if err == nil {
		err = tx.checkUnique(ctx, ws)
	}
	if err := cmp.Or(<-batchErr, err); err != nil {
		return nil, err
	}
	tx.progress.step("references and unique values checked")
	var cs string
	if hasWork(ws) {
		if cs, err = tx.changeSet(ctx, meta); err != nil {
			return nil, err
		}
	}
	if err := tx.assignIDs(ctx, ws); err != nil {
		return nil, err
	}
	for _, w := range ws {
		if k := (refKey{w.t.Name, w.name}); w.id != 0 {
			if _, ok := refs[k]; ok { // referenced in the batch
				refs[k] = w.id
			}
		}
	}
	if err := tx.writeBatch(ctx, meta, cs, ws, refs); err != nil {
		return nil, explainInsert(err, ws)
	}
	return results(ws), nil
}

// writeBatch writes a checked batch. Its rows go through the statement
// queue (see rowWriter), which only drains before a statement that runs
// outside it (updates, deletes by key) and at the end: in a batch of
// creates the database inserts without a pause. The index rows are
// gathered and sorted while it inserts the entries and versions.
func (tx *Tx) writeBatch(ctx context.Context, meta Meta, cs string, ws []*write, refs map[refKey]int64) error {
	stop := make(chan struct{})
	defer close(stop)
	index := gatherIndex(ws, refs, maxPendingValues, stop)
	if err := tx.insertEntries(ctx, ws, refs); err != nil {
		return err
	}
	if err := tx.updateEntries(ctx, ws, refs); err != nil {
		return err
	}
	tx.progress.step("entries queued")
	if err := tx.insertVersions(ctx, meta, cs, ws); err != nil {
		return err
	}
	tx.progress.step("versions and events queued")
	if err := tx.reindex(ctx, ws, index); err != nil {
		return err
	}
	tx.progress.step("values, references and unique values queued")
	if err := tx.drain(); err != nil {
		return err
	}
	tx.progress.step("all rows written")
	return nil
}

// explainInsert explains a unique violation of a queued INSERT: a name
// or a unique value that a concurrent writer took after the checks. The
// batch lost a race: run again, it sees the entry or the holder.
func explainInsert(err error, ws []*write) error {
	switch {
	case insertFailed(err, "entries"):
		var creates []*write
		for _, w := range ws {
			if w.op == OpCreate {
				creates = append(creates, w)
			}
		}
		return &lostRace{nameConflict(err, creates)}
	case insertFailed(err, "unique_values"):
		return &lostRace{uniqueHeld(err)}
	}
	return err
}

func hasWork(ws []*write) bool {
	for _, w := range ws {
		if w.op != OpUnchanged {
			return true
		}
	}
	return false
}

func results(ws []*write) []Result {
	out := make([]Result, len(ws))
	for i, w := range ws {
		v := int64(1)
		if w.old != nil {
			v = w.old.Version
			if w.op != OpUnchanged {
				v++
			}
		}
		id := w.id
		if id == 0 && w.old != nil { // unchanged: no id was assigned
			id = w.old.ID
		}
		out[i] = Result{Index: w.index, ID: id, Type: w.t.Name, Name: w.name, Op: w.op, Version: v, changes: w.changes, attrs: w.attrs}
	}
	return out
}

// checkBatch validates what needs no database: required attributes and
// duplicates inside the batch.
func checkBatch(ws []*write) error {
	names := make(map[refKey]*write, len(ws))
	// Sized for one unique value a write: growing a map of 100,000 claims
	// cost two thirds of these checks.
	uniq := make(map[claim]*write, countUnique(ws))
	for _, w := range ws {
		if w.op == OpDelete || w.op == OpUnchanged {
			continue
		}
		if err := schema.ValidName(w.name); err != nil {
			return w.errorf(schema.EINVALID, "name", "%s", err.(*schema.Error).Message)
		}
		if err := w.t.CheckRequired(w.attrs); err != nil {
			return w.errorf(schema.EINVALID, schema.ErrorField(err), "required attribute is missing")
		}
		k := refKey{w.t.Name, w.name}
		if prev, ok := names[k]; ok {
			return w.errorf(schema.ECONFLICT, "name", "%s %q appears twice in the batch (also %s)", w.t.Name, w.name, prev.what())
		}
		names[k] = w
		for c := range w.claims {
			if prev, ok := uniq[c]; ok {
				return w.errorf(schema.ECONFLICT, c.attr, "unique value %q appears twice in the batch (also %s)", c.value, prev.what())
			}
			uniq[c] = w
		}
	}
	return nil
}

// countUnique is how many writes of ws have a type with unique attributes.
func countUnique(ws []*write) int {
	has := map[*schema.EntityType]bool{}
	n := 0
	for _, w := range ws {
		u, ok := has[w.t]
		if !ok {
			u = slices.ContainsFunc(w.t.Attributes, func(a *schema.Attribute) bool { return a.Unique })
			has[w.t] = u
		}
		if u {
			n++
		}
	}
	return n
}

func scalars(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	}
	return []any{v}
}

// resolveRefs maps every reference name of the batch to an entry id. Names
// created or renamed in the batch map to 0 until the writes have their
// ids (see apply); the rest are looked up. A dangling reference fails.
func (tx *Tx) resolveRefs(ctx context.Context, ws []*write) (map[refKey]int64, error) {
	refAttrs := map[*schema.EntityType][]*schema.Attribute{} // Refs() allocates
	each := func(fn func(w *write, a *schema.Attribute, k refKey) error) error {
		for _, w := range ws {
			if w.op != OpCreate && w.op != OpUpdate {
				continue
			}
			attrs, ok := refAttrs[w.t]
			if !ok {
				attrs = w.t.Refs()
				refAttrs[w.t] = attrs
			}
			for _, a := range attrs {
				for _, v := range scalars(w.attrs[a.Name]) {
					if err := fn(w, a, refKey{a.Type.RefType, v.(string)}); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	keys := map[refKey]int64{} // every name referenced
	_ = each(func(_ *write, _ *schema.Attribute, k refKey) error {
		keys[k] = 0
		return nil
	})
	// Which of them the batch writes: a lookup in this small map per
	// write, not a map of every write.
	inBatch := map[refKey]bool{}
	for _, w := range ws {
		if k := (refKey{w.t.Name, w.name}); w.op == OpCreate || w.op == OpUpdate {
			if _, ok := keys[k]; ok {
				inBatch[k] = true
			}
		}
	}
	outside := make(map[refKey]int64, len(keys)-len(inBatch))
	for k := range keys {
		if !inBatch[k] {
			outside[k] = 0
		}
	}
	if err := tx.resolveNames(ctx, outside); err != nil {
		return nil, err
	}
	for k, id := range outside {
		if id == 0 { // name the first write at fault
			err := each(func(w *write, a *schema.Attribute, k refKey) error {
				if !inBatch[k] && outside[k] == 0 {
					return w.errorf(schema.EINVALID, a.Name, "references %s %q, which does not exist", k.typ, k.name)
				}
				return nil
			})
			return nil, cmp.Or(err, fmt.Errorf("internal error: %s %q is not resolved", k.typ, k.name))
		}
		keys[k] = id
	}
	return keys, nil
}

// claim is a unique value of an attribute of a type.
type claim struct{ typ, attr, value string }

// checkUnique reports a unique value already held by another entry, naming
// the attribute, the value and the holder. One query per attribute (see
// anyOf).
func (tx *Tx) checkUnique(ctx context.Context, ws []*write) error {
	byAttr := map[[2]string][]string{}
	eachUnique(ws, func(w *write, c claim) {
		byAttr[[2]string{c.typ, c.attr}] = append(byAttr[[2]string{c.typ, c.attr}], c.value)
	})
	// Made when a value is found held: which write claims each value, and
	// the writes by the id of the entry they change.
	var claims map[claim]*write
	var byID map[int64]*write
	for ta, values := range byAttr {
		conds, err := tx.anyHeld(ctx, "SELECT 1 FROM unique_values WHERE type = ? AND attr = ?", []any{ta[0], ta[1]}, "u.value", values)
		if err != nil {
			return err
		}
		for _, c := range conds {
			query := `SELECT u.value, u.entry_id, e.name FROM unique_values u
				JOIN entries e ON e.id = u.entry_id WHERE u.type = ? AND u.attr = ? AND ` + c.sql
			args := append([]any{ta[0], ta[1]}, c.args...)
			var held []struct {
				Value string `db:"value"`
				ID    int64  `db:"entry_id"`
				Name  string `db:"name"`
			}
			if err := sqlx.SelectContext(ctx, tx, &held, tx.Rebind(query), args...); err != nil {
				return fmt.Errorf("check unique %s.%s: %w", ta[0], ta[1], mapError(err))
			}
			if len(held) > 0 && claims == nil {
				claims, byID = uniqueClaims(ws), map[int64]*write{}
				for _, w := range ws {
					if w.old != nil {
						byID[w.old.ID] = w
					}
				}
			}
			for _, h := range held {
				w := claims[claim{ta[0], ta[1], h.Value}]
				if w.old != nil && h.ID == w.old.ID {
					continue // the holder keeps it
				}
				if hw := byID[h.ID]; hw != nil && releases(hw, ta[1], h.Value) {
					continue // the holder gives it up in this batch
				}
				return w.errorf(schema.ECONFLICT, ta[1], "value %q is unique and already held by %s %q", h.Value, ta[0], h.Name)
			}
		}
	}
	return nil
}

// releases reports whether a write gives up a unique value of attr: it
// deletes its entry, or changes the attribute to values without it.
func releases(w *write, attr, value string) bool {
	switch w.op {
	case OpDelete:
		return true
	case OpUpdate:
		for _, x := range scalars(w.attrs[attr]) {
			if s, _ := indexValue(x); s == value {
				return false
			}
		}
		return true
	}
	return false
}

// uniqueClaims maps the unique values of a batch to their writes.
func uniqueClaims(ws []*write) map[claim]*write {
	claims := map[claim]*write{}
	eachUnique(ws, func(w *write, c claim) { claims[c] = w })
	return claims
}

// eachUnique calls fn with every unique value the batch claims.
func eachUnique(ws []*write, fn func(*write, claim)) {
	for _, w := range ws {
		if w.op == OpDelete || w.op == OpUnchanged {
			continue
		}
		for c := range w.claims {
			fn(w, c)
		}
	}
}

// claims yields every unique value the write holds (an iter.Seq).
func (w *write) claims(yield func(claim) bool) {
	for _, a := range w.t.Attributes {
		if !a.Unique {
			continue
		}
		for _, v := range scalars(w.attrs[a.Name]) {
			s, _ := indexValue(v)
			if !yield(claim{w.t.Name, a.Name, s}) {
				return
			}
		}
	}
}

// storedAttrs is the JSON kept in entries.attrs: every attribute but the
// references, which live in refs, with sorted keys. An empty reference
// list is kept here so that "none" stays distinct from "not reported".
func storedAttrs(b []byte, t *schema.EntityType, attrs map[string]any) ([]byte, error) {
	return schema.AppendJSONObjectIf(b, attrs, func(k string, v any) bool {
		a := t.Attr(k)
		if a == nil {
			return false
		}
		if a.Type.Kind == schema.KindRef {
			l, ok := v.([]any)
			return ok && len(l) == 0
		}
		return true
	}, schema.AppendJSON)
}

// assignIDs gives new entries their ids, and the others theirs.
func (tx *Tx) assignIDs(ctx context.Context, ws []*write) error {
	n := 0
	for _, w := range ws {
		if w.op == OpCreate {
			n++
		} else if w.op != OpUnchanged {
			w.id = w.old.ID
		}
	}
	if n == 0 {
		return nil
	}
	ids, err := tx.allocIDs(ctx, n)
	if err != nil {
		return err
	}
	for _, w := range ws {
		if w.op == OpCreate {
			w.id, ids = ids[0], ids[1:]
		}
	}
	return nil
}

// refIDs is entries.ref_ids of a write: "attr:id" per reference, in list
// order per attribute, as migration 0004 builds it.
func refIDs(w *write, refs map[refKey]int64) string {
	var b []byte
	for _, a := range w.t.Attributes {
		if a.Type.Kind != schema.KindRef {
			continue
		}
		v, ok := w.attrs[a.Name]
		if !ok {
			continue
		}
		for _, x := range scalars(v) {
			s, _ := indexValue(x)
			if len(b) > 0 {
				b = append(b, ',')
			}
			b = append(b, a.Name...)
			b = append(b, ':')
			b = strconv.AppendInt(b, refs[refKey{a.Type.RefType, s}], 10)
		}
	}
	return string(b)
}

func (tx *Tx) insertEntries(ctx context.Context, ws []*write, refs map[refKey]int64) error {
	var creates []*write
	for _, w := range ws {
		if w.op == OpCreate {
			creates = append(creates, w)
		}
	}
	if len(creates) == 0 {
		return nil
	}
	rw := tx.sharedWriter("entries", []string{"version", "status", "created_at", "updated_at"}, "id", "type", "name", "attrs", "ref_ids")
	if err := rw.share(ctx, int64(1), StatusActive, tx.now, tx.now); err != nil {
		return err
	}
	var js []byte
	for _, w := range creates {
		var err error
		if js, err = storedAttrs(js[:0], w.t, w.attrs); err != nil {
			return w.errorf(schema.EINVALID, "attrs", "%v", err)
		}
		if err := rw.add(ctx, w.id, w.t.Name, w.name, string(js), refIDs(w, refs)); err != nil {
			return err
		}
	}
	return rw.send(ctx)
}

// allocIDs reserves n entry ids. Preallocating lets bulk inserts skip
// RETURNING (and use COPY on PostgreSQL). On SQLite the transaction holds
// the write lock (BEGIN IMMEDIATE), so MAX(id) cannot move under us.
func (tx *Tx) allocIDs(ctx context.Context, n int) ([]int64, error) {
	ids := make([]int64, 0, n)
	if tx.s.dialect == migrations.Postgres {
		err := sqlx.SelectContext(ctx, tx, &ids, "SELECT nextval(pg_get_serial_sequence('entries', 'id')) FROM generate_series(1, $1)", n)
		if err != nil {
			return nil, fmt.Errorf("allocate ids: %w", mapError(err))
		}
		return ids, nil
	}
	var max int64
	if err := sqlx.GetContext(ctx, tx, &max, "SELECT COALESCE(MAX(id), 0) FROM entries"); err != nil {
		return nil, fmt.Errorf("allocate ids: %w", mapError(err))
	}
	for i := 1; i <= n; i++ {
		ids = append(ids, max+int64(i))
	}
	return ids, nil
}

// nameConflict explains a unique violation on insert: a name taken by a
// concurrent writer.
func nameConflict(err error, ws []*write) error {
	if err != nil && schema.ErrorCode(err) == schema.ECONFLICT && len(ws) == 1 {
		return ws[0].errorf(schema.ECONFLICT, "name", "%s %q already exists", ws[0].t.Name, ws[0].name)
	}
	return err
}

func (tx *Tx) updateEntries(ctx context.Context, ws []*write, refs map[refKey]int64) error {
	if !slices.ContainsFunc(ws, func(w *write) bool { return w.op != OpCreate && w.op != OpUnchanged }) {
		return nil
	}
	if err := tx.drain(); err != nil { // the creates go first
		return err
	}
	for _, w := range ws {
		if w.op == OpCreate || w.op == OpUnchanged {
			continue
		}
		js, err := storedAttrs(nil, w.t, w.attrs)
		if err != nil {
			return w.errorf(schema.EINVALID, "attrs", "%v", err)
		}
		var deletedAt any
		status := StatusActive
		if w.op == OpDelete {
			deletedAt = tx.now
			status = w.old.Status
		} else if w.op == OpUpdate {
			status = w.old.Status
		}
		expect := w.old.Version
		if w.expect != 0 {
			expect = w.expect
		}
		// A delete or restore keeps the references (refs and ref_ids) as
		// they are; an update rewrites them.
		setRefs, ids := "", []any{}
		if w.op == OpUpdate {
			setRefs, ids = "ref_ids = ?, ", []any{refIDs(w, refs)}
		}
		args := append([]any{w.name, string(js)}, ids...)
		args = append(args, status, tx.now, deletedAt, w.reason, w.id, expect)
		res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE entries SET name = ?, attrs = ?, `+setRefs+`version = version + 1,
			status = ?, updated_at = ?, deleted_at = ?, deleted_reason = ? WHERE id = ? AND version = ?`), args...)
		if err != nil {
			if schema.ErrorCode(mapError(err)) == schema.ECONFLICT {
				return w.errorf(schema.ECONFLICT, "name", "%s %q already exists", w.t.Name, w.name)
			}
			return fmt.Errorf("update %s %q: %w", w.t.Name, w.name, mapError(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return w.errorf(schema.ECONFLICT, "version", "%s %q was changed by someone else: you read version %d, it is now newer; reload and retry", w.t.Name, w.old.Name, expect)
		}
		if w.name != w.old.Name {
			tx.renamed = true
		}
	}
	return nil
}

// reindex writes the search, reference and uniqueness rows of the batch,
// as gatherIndex hands them over.
func (tx *Tx) reindex(ctx context.Context, ws []*write, rows <-chan *indexRows) error {
	if err := tx.unindex(ctx, ws); err != nil {
		return err
	}
	values, unique, refs := tx.searchWriter(), tx.uniqueWriter(), tx.refWriter()
	for ir := range rows {
		if err := ir.values.send(ctx, values); err != nil {
			return err
		}
		if err := ir.unique.send(ctx, unique); err != nil {
			return err
		}
		if err := ir.refs.send(ctx, refs); err != nil {
			return err
		}
	}
	return nil
}

// indexRows are index rows of a batch: search, unique and reference rows.
type indexRows struct {
	values, unique valueRuns
	refs           refRuns
}

func (ir *indexRows) len() int { return ir.values.n + ir.unique.n + len(ir.refs.rows) }

// add gathers the index rows of one write. A create indexes every value,
// an update the attributes it changed (its old rows are gone by then), a
// delete only frees unique values and a restore takes them back.
// References of deleted entries stay, so a restore brings them back
// unchanged.
func (ir *indexRows) add(w *write, ids map[refKey]int64) {
	if w.op == OpUnchanged || w.op == OpDelete {
		return
	}
	for name, v := range w.attrs { // the rows are sorted before they are written
		a := w.t.Attr(name)
		if a == nil {
			continue
		}
		_, changed := w.changes[name]
		if a.Unique && (w.op != OpUpdate || changed) {
			ir.unique.add(w.t.Name, a, w.id, v)
		}
		if w.op == OpRestore || (w.op == OpUpdate && !changed) {
			continue
		}
		if a.Type.Kind == schema.KindRef {
			for pos, x := range scalars(v) {
				ir.refs.add(refRow{to: ids[refKey{a.Type.RefType, x.(string)}], attr: a.Name, from: w.id, pos: int64(pos)})
			}
			continue
		}
		ir.values.add(w.t.Name, a, w.id, v)
	}
}

// gatherIndex gathers and sorts the index rows of ws on its own
// goroutine, up to limit rows at a time, so that the database
// inserts the entries and versions, or the last rows, while the next are
// made. It gives up soon after stop is closed.
func gatherIndex(ws []*write, ids map[refKey]int64, limit int, stop <-chan struct{}) <-chan *indexRows {
	out := make(chan *indexRows)
	go func() {
		defer close(out)
		ir := &indexRows{unique: valueRuns{unique: true}}
		hand := func() bool {
			ir.values.sort()
			ir.unique.sort()
			ir.refs.sort()
			select {
			case out <- ir:
				ir = &indexRows{unique: valueRuns{unique: true}}
				return true
			case <-stop:
				return false
			}
		}
		for i, w := range ws {
			if i%1024 == 0 && stopped(stop) {
				return
			}
			if ir.add(w, ids); ir.len() >= limit && !hand() {
				return
			}
		}
		if ir.len() > 0 {
			hand()
		}
	}()
	return out
}

func stopped(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

// uniqueHeld explains a unique violation of unique_values: checkUnique
// found no holder, so a concurrent writer took the value.
func uniqueHeld(err error) error {
	if schema.ErrorCode(err) == schema.ECONFLICT {
		return schema.Errorf(schema.ECONFLICT, "a unique value is already held by another entry: %v", err)
	}
	return err
}

// unindex removes the rows reindex rewrites: the search, reference and
// unique rows of the attributes an update changed, and a delete's unique
// values, all by their exact keys, from the old values.
func (tx *Tx) unindex(ctx context.Context, ws []*write) error {
	var values, refs, unique []any
	for _, w := range ws {
		switch w.op {
		case OpUpdate:
			values = appendValueKeys(values, w)
			refs = appendRefKeys(refs, w)
			unique = appendUniqueKeys(unique, w, false)
		case OpDelete:
			unique = appendUniqueKeys(unique, w, true)
		}
	}
	if err := tx.deleteKeys(ctx, "entry_values", []string{"type", "attr", "value", "entry_id"}, values); err != nil {
		return err
	}
	if err := tx.deleteKeys(ctx, "refs", []string{"to_id", "attr", "from_id", "pos"}, refs); err != nil {
		return err
	}
	return tx.deleteKeys(ctx, "unique_values", []string{"type", "attr", "value"}, unique)
}

func (tx *Tx) insertVersions(ctx context.Context, meta Meta, cs string, ws []*write) error {
	rw := tx.sharedWriter("versions", []string{"changeset_id"}, "entry_id", "version", "op", "name", "changes")
	if err := rw.share(ctx, cs); err != nil {
		return err
	}
	if !hasWork(ws) {
		return nil
	}
	// Each version's event goes into the outbox beside it, from the same
	// JSON: no event without the change, no change without its event.
	var ev *entryEvents
	if !tx.s.withoutEntryEvents {
		var err error
		if ev, err = tx.entryEvents(ctx, cs, meta); err != nil {
			return err
		}
	}
	var b []byte
	for _, w := range ws {
		if w.op == OpUnchanged {
			continue
		}
		var err error
		if w.op == OpCreate {
			b, err = appendCreated(b[:0], w.name, w.attrs)
		} else {
			b, err = appendChanges(b[:0], w.changes)
		}
		if err != nil {
			return w.errorf(schema.EINVALID, "attrs", "%v", err)
		}
		v := int64(1)
		if w.old != nil {
			v = w.old.Version + 1
		}
		if err := rw.add(ctx, w.id, v, string(w.op), w.name, string(b)); err != nil {
			return err
		}
		if ev == nil {
			continue
		}
		if err := ev.add(ctx, w, v, b); err != nil {
			return err
		}
	}
	if err := rw.send(ctx); err != nil {
		return err
	}
	if ev == nil {
		return nil
	}
	return ev.rw.send(ctx)
}

// appendChanges appends a version's changes as JSON, keys sorted:
// {"attr":{"old":…,"new":…},…}, as encoding/json writes map[string]Change.
func appendChanges(b []byte, changes map[string]Change) ([]byte, error) {
	return schema.AppendJSONObject(b, changes, func(b []byte, c Change) ([]byte, error) {
		b, err := schema.AppendJSON(append(b, `{"old":`...), c.Old)
		if err != nil {
			return nil, err
		}
		if b, err = schema.AppendJSON(append(b, `,"new":`...), c.New); err != nil {
			return nil, err
		}
		return append(b, '}'), nil
	})
}

// appendCreated appends a create's changes: a create has no old values,
// so its name and attributes are kept as new values alone,
// {"attr":…,"name":…}, keys sorted — a bulk import writes half the history
// (decodeChanges reads both forms).
func appendCreated(b []byte, name string, attrs map[string]any) ([]byte, error) {
	var buf [32]string
	keys := append(buf[:0], "name")
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return schema.AppendJSONKeys(b, keys, func(b []byte, k string) ([]byte, error) {
		if k == "name" {
			return schema.AppendJSONString(b, name), nil
		}
		return schema.AppendJSON(b, attrs[k])
	})
}

// sortedResults orders results by index for stable output.
func sortedResults(rs []Result) []Result {
	sort.Slice(rs, func(i, j int) bool { return rs[i].Index < rs[j].Index })
	return rs
}
