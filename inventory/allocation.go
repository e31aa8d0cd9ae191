package inventory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/tana-cmdb/tana/schema"

	"github.com/tana-cmdb/tana/migrations"
)

// Allocation statuses. A value is live — not free — while held (until
// its hold expires) or granted; released and expired ones are history.
const (
	AllocHeld     = "held"
	AllocGranted  = "granted"
	AllocReleased = "released"
	AllocExpired  = "expired"
)

// Allocation is one value handed out from a pool (an ip_pool or name_pool
// entry). Seq orders a pool's values within a variant: an address's place
// in the pool, a name's sequence number (a template with variables numbers
// each variant on its own). A grant of several values shares its key, each
// value with its ordinal.
type Allocation struct {
	ID        string     `json:"id" db:"id"`
	PoolID    int64      `json:"pool_id" db:"pool_id"`
	Variant   string     `json:"variant,omitempty" db:"variant"`
	Seq       int64      `json:"seq" db:"seq"`
	Value     string     `json:"value" db:"value"`
	Key       string     `json:"key,omitempty" db:"idem_key"`
	Ordinal   int        `json:"-" db:"ordinal"`
	Status    string     `json:"status" db:"status"`
	EntryID   *int64     `json:"entry_id,omitempty" db:"entry_id"`
	Actor     string     `json:"actor" db:"actor"`
	Reason    string     `json:"reason,omitempty" db:"reason"`
	CreatedAt time.Time  `json:"created_at" db:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty" db:"expires_at"` // a hold's end
	EndedAt   *time.Time `json:"ended_at,omitempty" db:"ended_at"`     // released or expired
}

const allocCols = "id, pool_id, variant, seq, value, idem_key, ordinal, status, entry_id, actor, reason, created_at, expires_at, ended_at"

// live is the SQL condition of a value that is not free.
const live = "status IN ('held', 'granted')"

// InPoolTx runs fn in a transaction that holds pool's lock until it ends,
// so that what fn finds free is still free when it commits: on PostgreSQL
// pg_advisory_xact_lock (transaction-scoped, so a pooler in transaction
// mode keeps it), on SQLite the database's single writer (BEGIN
// IMMEDIATE). The unique indexes on (pool, value) and (pool, key) stand
// behind it.
func (s *Store) InPoolTx(ctx context.Context, poolID int64, fn func(*Tx) error) error {
	return s.InTx(ctx, func(tx *Tx) error {
		if s.dialect == migrations.Postgres {
			if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", fmt.Sprintf("tana:pool:%d", poolID)); err != nil {
				return fmt.Errorf("lock pool %d: %w", poolID, mapError(err))
			}
		}
		return fn(tx)
	})
}

// expireHoldsSQL writes status = 'held' out, not bound: only then may
// either database use the index of holds (allocations_holds, a partial
// index) instead of reading the pool's whole history.
const expireHoldsSQL = "UPDATE allocations SET status = ?, ended_at = expires_at WHERE pool_id = ? AND status = 'held' AND expires_at < ?"

// ExpireHolds ends the pool's holds whose time is over: their values are
// free again.
func (tx *Tx) ExpireHolds(ctx context.Context, poolID int64) error {
	_, err := tx.ExecContext(ctx, tx.Rebind(expireHoldsSQL), AllocExpired, poolID, tx.now.UTC())
	if err != nil {
		return fmt.Errorf("expire holds of pool %d: %w", poolID, mapError(err))
	}
	return nil
}

// GrantOfKey returns the allocations made under an idempotency key, in
// ordinal order; none when the key is new.
func (tx *Tx) GrantOfKey(ctx context.Context, poolID int64, key string) ([]Allocation, error) {
	var out []Allocation
	err := sqlx.SelectContext(ctx, tx, &out, tx.Rebind("SELECT "+allocCols+" FROM allocations WHERE pool_id = ? AND idem_key = ? ORDER BY ordinal"), poolID, key)
	if err != nil {
		return nil, fmt.Errorf("load grant %q: %w", key, mapError(err))
	}
	fixAllocTimes(out)
	return out, nil
}

// maxSeqSQL is ORDER BY … LIMIT 1, not MAX: the generic plan PostgreSQL
// settles on for a prepared MAX aggregated every allocation of the pool,
// under the pool's lock.
const maxSeqSQL = "SELECT seq FROM allocations WHERE pool_id = ? AND variant = ? ORDER BY seq DESC LIMIT 1"

// MaxSeq is the highest place a pool's variant ever handed out; ok is
// false when it handed out nothing yet.
func (tx *Tx) MaxSeq(ctx context.Context, poolID int64, variant string) (max int64, ok bool, err error) {
	err = tx.GetContext(ctx, &max, tx.Rebind(maxSeqSQL), poolID, variant)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("load the last place of pool %d: %w", poolID, mapError(err))
	}
	return max, true, nil
}

// nextFreeSeqSQL, per dialect, is from itself if free, else the end of
// the run of live places from from on: the first live place, in seq
// order, whose next place is not live. Either way one ordered scan of the
// index from from, stopped at that place by LIMIT 1. The query before took
// the MIN of every such end through an anti-join: it read all the pool's
// live places from from on (PostgreSQL, on a table not yet analyzed, read
// them again for each) — per candidate, under the pool's lock, once a
// pool had wrapped around. PostgreSQL, unanalyzed, also probes the next
// place through the wrong index, so it takes it from LEAD over the scan
// instead; SQLite sorts a window's rows, so it probes.
var nextFreeSeqSQL = map[string]string{
	migrations.Postgres: `SELECT MIN(s) FROM (
		SELECT ? AS s WHERE NOT EXISTS (SELECT 1 FROM allocations WHERE pool_id = ? AND variant = ? AND seq = ? AND ` + live + `)
		UNION ALL
		SELECT s FROM (SELECT seq + 1 AS s FROM (
				SELECT seq, LEAD(seq) OVER (ORDER BY seq) AS next FROM allocations WHERE pool_id = ? AND variant = ? AND seq >= ? AND ` + live + `
			) w WHERE next IS NULL OR next <> seq + 1 ORDER BY seq LIMIT 1) g
	) t WHERE s <= ?`,
	migrations.SQLite: `SELECT MIN(s) FROM (
		SELECT ? AS s WHERE NOT EXISTS (SELECT 1 FROM allocations WHERE pool_id = ? AND variant = ? AND seq = ? AND ` + live + `)
		UNION ALL
		SELECT s FROM (SELECT a.seq + 1 AS s FROM allocations a WHERE a.pool_id = ? AND a.variant = ? AND a.seq >= ? AND a.` + live + `
			AND (SELECT 1 FROM allocations b WHERE b.pool_id = a.pool_id AND b.variant = a.variant AND b.seq = a.seq + 1 AND b.` + live + `) IS NULL
			ORDER BY a.seq LIMIT 1) g
	) t WHERE s <= ?`,
}

// NextFreeSeq is the first place from from to last (both in) that no live
// allocation of the pool's variant holds; ok is false when there is none.
func (tx *Tx) NextFreeSeq(ctx context.Context, poolID int64, variant string, from, last int64) (seq int64, ok bool, err error) {
	var v sql.NullInt64
	err = tx.GetContext(ctx, &v, tx.Rebind(nextFreeSeqSQL[tx.s.dialect]), from, poolID, variant, from, poolID, variant, from, last)
	if err != nil {
		return 0, false, fmt.Errorf("find a free place in pool %d: %w", poolID, mapError(err))
	}
	return v.Int64, v.Valid && v.Int64 <= last, nil
}

// AddAllocations records new allocations, stamped with the transaction's
// time. A value or key taken meanwhile fails with ECONFLICT (the unique
// indexes): nothing is recorded.
func (tx *Tx) AddAllocations(ctx context.Context, as []Allocation) error {
	rows := make([]any, 0, len(as)*13)
	for i := range as {
		a := &as[i]
		a.CreatedAt = tx.now.UTC()
		rows = append(rows, a.ID, a.PoolID, a.Variant, a.Seq, a.Value, a.Key, a.Ordinal, a.Status, a.EntryID, a.Actor, a.Reason, a.CreatedAt, utcOrNil(a.ExpiresAt))
	}
	cols := strings.Split(strings.ReplaceAll(allocCols, " ", ""), ",")[:13]
	if err := tx.insertMany(ctx, "allocations", cols, rows); err != nil {
		return fmt.Errorf("record allocations: %w", err)
	}
	var granted []Allocation // a hold is granted when it is confirmed
	for _, a := range as {
		if a.Status == AllocGranted {
			granted = append(granted, a)
		}
	}
	return tx.emitAllocations(ctx, schema.EventAllocationGranted, granted)
}

func (tx *Tx) emitAllocations(ctx context.Context, typ string, as []Allocation) error {
	evs, err := allocationEvents(typ, as)
	if err != nil {
		return err
	}
	return tx.Emit(ctx, evs...)
}

// EndAllocations releases (or confirms) a pool's live allocations: those
// of key when key is set, else those of values. It returns what it
// changed. Releasing frees the values; confirming makes held values
// granted for good.
func (tx *Tx) EndAllocations(ctx context.Context, poolID int64, key string, values []string, status, reason string) ([]Allocation, error) {
	where, args := "pool_id = ? AND "+live, []any{poolID}
	switch {
	case key != "":
		where, args = where+" AND idem_key = ?", append(args, key)
	case len(values) > 0:
		q, in, err := sqlx.In(" AND value IN (?)", values)
		if err != nil {
			return nil, err
		}
		where, args = where+q, append(args, in...)
	default:
		return nil, nil
	}
	var out []Allocation
	if err := sqlx.SelectContext(ctx, tx, &out, tx.Rebind("SELECT "+allocCols+" FROM allocations WHERE "+where+" ORDER BY seq"), args...); err != nil {
		return nil, fmt.Errorf("load allocations of pool %d: %w", poolID, mapError(err))
	}
	set, setArgs := "status = ?, expires_at = NULL", []any{status}
	if status != AllocGranted {
		set, setArgs = "status = ?, ended_at = ?, reason = ?", []any{status, tx.now.UTC(), reason}
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind("UPDATE allocations SET "+set+" WHERE "+where), append(setArgs, args...)...); err != nil {
		return nil, fmt.Errorf("%s allocations of pool %d: %w", status, poolID, mapError(err))
	}
	fixAllocTimes(out)
	typ := schema.EventAllocationReleased
	if status == AllocGranted {
		typ = schema.EventAllocationGranted
	}
	changed := slices.Clone(out)
	for i := range changed {
		changed[i].Status = status
		if status != AllocGranted {
			at := tx.now.UTC()
			changed[i].EndedAt, changed[i].Reason = &at, reason
		} else {
			changed[i].ExpiresAt = nil
		}
	}
	if err := tx.emitAllocations(ctx, typ, changed); err != nil {
		return nil, err
	}
	return out, nil
}

// Holder is an entry that holds a value a pool might hand out.
type Holder struct {
	ID     int64  `db:"id"`
	Type   string `db:"type"`
	Name   string `db:"name"`
	Attr   string `db:"attr"` // "" when the name itself is the value
	Status string `db:"status"`
}

// Holders returns the live entries whose attr (of type typ) holds value,
// for every (type, attribute) pair asked, from the search index.
func (tx *Tx) Holders(ctx context.Context, pairs [][2]string, value string) ([]Holder, error) {
	return tx.HoldersOfAny(ctx, []HolderLookup{{Pairs: pairs, Value: value}})
}

// HolderLookup asks for the live entries whose attribute holds Value, for
// each (type, attribute) of Pairs.
type HolderLookup struct {
	Pairs [][2]string
	Value string
}

// HoldersOfAny answers several lookups in one statement — the free search
// asks them for every candidate, under the pool's lock — in the order
// asked, each lookup's holders by type and name.
func (tx *Tx) HoldersOfAny(ctx context.Context, lookups []HolderLookup) ([]Holder, error) {
	var parts, values []string
	var args []any
	for i, l := range lookups {
		if len(l.Pairs) == 0 {
			continue
		}
		conds := make([]string, len(l.Pairs))
		args = append(args, l.Value)
		for j, p := range l.Pairs {
			conds[j] = "(v.type = ? AND v.attr = ?)"
			args = append(args, p[0], p[1])
		}
		parts = append(parts, fmt.Sprintf(`SELECT %d AS lookup, e.id, e.type, e.name, v.attr, e.status FROM entry_values v JOIN entries e ON e.id = v.entry_id
		WHERE v.value = ? AND (%s) AND e.deleted_at IS NULL`, i, strings.Join(conds, " OR ")))
		values = append(values, l.Value)
	}
	if len(parts) == 0 {
		return nil, nil
	}
	var rows []struct {
		Lookup int `db:"lookup"`
		Holder
	}
	if err := sqlx.SelectContext(ctx, tx, &rows, tx.Rebind(strings.Join(parts, " UNION ALL ")+" ORDER BY 1, 3, 4"), args...); err != nil {
		return nil, fmt.Errorf("look up %q: %w", strings.Join(values, " and "), mapError(err))
	}
	out := make([]Holder, len(rows))
	for i, r := range rows {
		out[i] = r.Holder
	}
	return out, nil
}

// LastSeen says which source last reported an entry, and that scope's
// latest complete snapshot: why reality holds a value.
func (tx *Tx) LastSeen(ctx context.Context, entryID int64) (scope, snapshotID string, at time.Time, err error) {
	var b struct {
		Scope    string    `db:"scope"`
		LastSeen time.Time `db:"last_seen"`
	}
	err = tx.GetContext(ctx, &b, tx.Rebind("SELECT scope, last_seen FROM entry_sources WHERE entry_id = ? ORDER BY last_seen DESC LIMIT 1"), entryID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", time.Time{}, nil
	}
	if err != nil {
		return "", "", time.Time{}, fmt.Errorf("load the sources of entry %d: %w", entryID, mapError(err))
	}
	err = tx.GetContext(ctx, &snapshotID, tx.Rebind("SELECT id FROM snapshots WHERE scope = ? AND complete = ? ORDER BY finished_at DESC LIMIT 1"), b.Scope, true)
	if errors.Is(err, sql.ErrNoRows) {
		err = nil
	}
	return b.Scope, snapshotID, b.LastSeen.UTC(), err
}

// NamedEntry returns the live entry of typ named name, or nil.
func (tx *Tx) NamedEntry(ctx context.Context, typ, name string) (*Holder, error) {
	var h Holder
	err := tx.GetContext(ctx, &h, tx.Rebind("SELECT id, type, name, '' AS attr, status FROM entries WHERE type = ? AND name = ? AND deleted_at IS NULL"), typ, name)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up %s %q: %w", typ, name, mapError(err))
	}
	return &h, nil
}

// OpenDriftMentioning returns open drift of kinds that carry reality the
// store has not taken in (an object missing in the store, an attribute
// changed, a conflict) whose data holds value as a JSON string: reality
// that makes the value taken though no entry has it.
func (tx *Tx) OpenDriftMentioning(ctx context.Context, value string) ([]DriftRecord, error) {
	pattern := `%"` + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(value) + `"%`
	var out []DriftRecord
	err := sqlx.SelectContext(ctx, tx, &out, tx.Rebind("SELECT "+driftCols+` FROM drift WHERE resolved_at IS NULL
		AND kind IN ('missing_in_store', 'changed', 'conflict') AND data LIKE ? ESCAPE '\'`), pattern)
	if err != nil {
		return nil, fmt.Errorf("look up %q in open drift: %w", value, mapError(err))
	}
	return out, nil
}

// AllocationFilter selects allocations; zero fields match all.
type AllocationFilter struct {
	PoolID  int64
	EntryID int64
	Live    bool // held (and not expired) or granted only
	Limit   int
}

// Allocations returns allocations, newest first.
func (s *Store) Allocations(ctx context.Context, f AllocationFilter) ([]Allocation, error) {
	return allocations(ctx, s.db, s.db.Rebind, s.Now(), f)
}

// Allocations is Store.Allocations inside the transaction (in a pool's
// transaction, never ask the store: its connection may be the last one).
func (tx *Tx) Allocations(ctx context.Context, f AllocationFilter) ([]Allocation, error) {
	return allocations(ctx, tx, tx.Rebind, tx.now, f)
}

func allocations(ctx context.Context, q sqlx.QueryerContext, rebind func(string) string, now time.Time, f AllocationFilter) ([]Allocation, error) {
	where, args := []string{"1 = 1"}, []any{}
	if f.PoolID != 0 {
		where, args = append(where, "pool_id = ?"), append(args, f.PoolID)
	}
	if f.EntryID != 0 {
		where, args = append(where, "entry_id = ?"), append(args, f.EntryID)
	}
	if f.Live {
		where, args = append(where, "(status = 'granted' OR status = 'held' AND expires_at >= ?)"), append(args, now.UTC())
	}
	limit := f.Limit
	if limit <= 0 {
		limit = math.MaxInt32
	}
	var out []Allocation
	query := "SELECT " + allocCols + " FROM allocations WHERE " + strings.Join(where, " AND ") + fmt.Sprintf(" ORDER BY created_at DESC, seq DESC LIMIT %d", limit)
	if err := sqlx.SelectContext(ctx, q, &out, rebind(query), args...); err != nil {
		return nil, fmt.Errorf("load allocations: %w", mapError(err))
	}
	fixAllocTimes(out)
	return out, nil
}

// AllocationCount is how many of a pool's values are held and granted.
type AllocationCount struct {
	PoolID  int64 `db:"pool_id"`
	Held    int   `db:"held"`
	Granted int   `db:"granted"`
}

// AllocationCounts counts every pool's live values.
func (s *Store) AllocationCounts(ctx context.Context) (map[int64]AllocationCount, error) {
	var rows []AllocationCount
	err := sqlx.SelectContext(ctx, s.db, &rows, s.db.Rebind(`SELECT pool_id,
		SUM(CASE WHEN status = 'held' AND expires_at >= ? THEN 1 ELSE 0 END) AS held,
		SUM(CASE WHEN status = 'granted' THEN 1 ELSE 0 END) AS granted
		FROM allocations WHERE `+live+` GROUP BY pool_id`), s.Now().UTC())
	if err != nil {
		return nil, fmt.Errorf("count allocations: %w", mapError(err))
	}
	out := make(map[int64]AllocationCount, len(rows))
	for _, r := range rows {
		out[r.PoolID] = r
	}
	return out, nil
}

func fixAllocTimes(as []Allocation) {
	for i := range as {
		a := &as[i]
		a.CreatedAt = a.CreatedAt.UTC()
		for _, t := range []**time.Time{&a.ExpiresAt, &a.EndedAt} {
			if *t != nil {
				u := (*t).UTC()
				*t = &u
			}
		}
	}
}

func utcOrNil(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC()
}
