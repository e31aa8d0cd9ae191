package inventory

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/tana-cmdb/tana/migrations"
	"github.com/tana-cmdb/tana/schema"
)

// Delivery statuses: pending until sent (or given up), delivered once a
// receiver answered 2xx, failed once retries ran out.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// Delivery is one event on its way to one subscription, with its log:
// attempts, the last error and response code.
type Delivery struct {
	ID           int64      `json:"id" db:"id"`
	EventID      int64      `json:"event_id" db:"event_id"`
	Subscription string     `json:"subscription" db:"subscription"`
	Subject      string     `json:"subject" db:"subject"`
	Status       string     `json:"status" db:"status"`
	Attempts     int        `json:"attempts" db:"attempts"`
	NextAt       time.Time  `json:"next_at" db:"next_at"`
	ClaimedBy    string     `json:"claimed_by,omitempty" db:"claimed_by"`
	ClaimedUntil *time.Time `json:"claimed_until,omitempty" db:"claimed_until"`
	LastError    string     `json:"last_error,omitempty" db:"last_error"`
	ResponseCode int        `json:"response_code,omitempty" db:"response_code"`
	CreatedAt    time.Time  `json:"created_at" db:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at" db:"updated_at"`
	Since        time.Time  `json:"since" db:"since"`
	Event        Event      `json:"event" db:"e"`
}

const deliveryCols = `d.id, d.event_id, d.subscription, d.subject, d.status, d.attempts, d.next_at, d.claimed_by, d.claimed_until,
	d.last_error, d.response_code, d.created_at, d.updated_at, d.since,
	e.id AS "e.id", e.uid AS "e.uid", e.type AS "e.type", e.subject AS "e.subject", e.at AS "e.at", e.changeset_id AS "e.changeset_id",
	e.entity_type AS "e.entity_type", e.scope AS "e.scope", e.kind AS "e.kind", e.owner AS "e.owner", e.data AS "e.data",
	COALESCE(c.actor, '') AS "e.actor", COALESCE(c.source, '') AS "e.source", COALESCE(c.reason, '') AS "e.reason"`

const deliveryFrom = ` FROM event_deliveries d JOIN events e ON e.id = d.event_id LEFT JOIN changesets c ON c.id = e.changeset_id`

// Route is where the router sends an event: one subscription.
type Route struct {
	EventID      int64
	Subscription string
	Subject      string
}

// routeLock is the PostgreSQL advisory lock one router holds while it
// routes: routed in one order, deliveries keep their events' order.
const routeLock = 7240024

// RouteEvents takes up to limit events not yet routed, oldest first, asks
// route where each goes, and records those deliveries and the events as
// routed, in one transaction. On PostgreSQL one replica routes at a time;
// the others return 0. It returns how many events it routed.
func (s *Store) RouteEvents(ctx context.Context, limit int, route func([]Event) []Route) (int, error) {
	n := 0
	err := s.InTx(ctx, func(tx *Tx) error {
		if s.dialect == migrations.Postgres {
			var ok bool
			if err := tx.GetContext(ctx, &ok, "SELECT pg_try_advisory_xact_lock($1)", routeLock); err != nil {
				return fmt.Errorf("take the event router's lock: %w", mapError(err))
			}
			if !ok {
				return nil
			}
		}
		var evs []Event
		err := sqlx.SelectContext(ctx, tx, &evs, tx.Rebind(`SELECT e.id, e.uid, e.type, e.subject, e.at, e.changeset_id, e.entity_type, e.scope, e.kind, e.owner, '' AS data,
			COALESCE(c.actor, '') AS actor, COALESCE(c.source, '') AS source, COALESCE(c.reason, '') AS reason
			FROM events e LEFT JOIN changesets c ON c.id = e.changeset_id WHERE e.routed = 0 ORDER BY e.id LIMIT ?`), limit)
		if err != nil {
			return fmt.Errorf("read events to route: %w", mapError(err))
		}
		if len(evs) == 0 {
			return nil
		}
		rows := []any{}
		for _, r := range route(evs) {
			rows = append(rows, r.EventID, r.Subscription, r.Subject, DeliveryPending, tx.now, tx.now, tx.now, tx.now)
		}
		if err := tx.insertMany(ctx, "event_deliveries", []string{"event_id", "subscription", "subject", "status", "next_at", "created_at", "updated_at", "since"}, rows); err != nil {
			return fmt.Errorf("record deliveries: %w", err)
		}
		ids := make([]int64, len(evs))
		for i, e := range evs {
			ids[i] = e.ID
		}
		for _, chunk := range chunks(ids, 1000) {
			q, args, err := sqlx.In("UPDATE events SET routed = 1 WHERE id IN (?)", chunk)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, tx.Rebind(q), args...); err != nil {
				return fmt.Errorf("mark events routed: %w", mapError(err))
			}
		}
		// The new deliveries' subjects without a head get one; the
		// finishers are kept out until this commits (see headLock).
		if len(rows) > 0 {
			if err := s.lockHeads(ctx, tx, true); err != nil {
				return err
			}
			if err := tx.promoteHeads(ctx, "event_id", ids); err != nil {
				return err
			}
		}
		n = len(evs)
		return nil
	})
	return n, err
}

// headLock is the PostgreSQL advisory lock that keeps the heads right:
// the router holds it exclusively while it gives new deliveries' subjects
// their heads, a finisher (or a redelivery) shared while it moves a head
// on. Without it a finisher could move the head on without seeing the
// router's deliveries not yet committed, and the router give them none
// because the old head still looked pending: a subject stuck forever.
const headLock = 7240025

// lockHeads takes headLock until the transaction ends; on SQLite the one
// writer serialises the same work.
func (s *Store) lockHeads(ctx context.Context, tx *Tx, exclusive bool) error {
	if s.dialect != migrations.Postgres {
		return nil
	}
	q := "SELECT pg_advisory_xact_lock_shared($1)"
	if exclusive {
		q = "SELECT pg_advisory_xact_lock($1)"
	}
	if _, err := tx.ExecContext(ctx, q, headLock); err != nil {
		return fmt.Errorf("take the delivery heads' lock: %w", mapError(err))
	}
	return nil
}

// promoteHeads makes the first pending delivery the head of each
// subscription's subject, of the deliveries whose col (id or event_id) is
// in ids, that has pending deliveries but no head. Set-based: one
// statement per thousand ids.
func (tx *Tx) promoteHeads(ctx context.Context, col string, ids []int64) error {
	if col != "id" && col != "event_id" {
		return fmt.Errorf("promote heads by %q: not a delivery key", col)
	}
	for _, chunk := range chunks(ids, 1000) {
		// Scalar subqueries, not joins: each is one probe of the order
		// index per subject, whatever the planner thinks of the table's
		// size (a join here was a hash over the whole backlog). MAX(head),
		// not head = 1: that would match event_deliveries_due, which has
		// no subject, and scan every head of the subscription.
		q, args, err := sqlx.In(`UPDATE event_deliveries SET head = 1 WHERE id IN (
			SELECT (SELECT MIN(p.id) FROM event_deliveries p WHERE p.subscription = f.subscription AND p.subject = f.subject
				AND p.status = 'pending' AND p.head = 0)
			FROM (SELECT DISTINCT subscription, subject FROM event_deliveries WHERE `+col+` IN (?)) f
			WHERE COALESCE((SELECT MAX(h.head) FROM event_deliveries h WHERE h.subscription = f.subscription AND h.subject = f.subject
				AND h.status = 'pending'), 0) = 0)`, chunk)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(q), args...); err != nil {
			return fmt.Errorf("move the heads of %d deliveries' subjects on: %w", len(chunk), mapError(err))
		}
	}
	return nil
}

// ClaimDeliveries claims up to limit due deliveries of subscription for
// claimer, until lease from now, and returns them with their events. Only
// the head of each subject (its first pending delivery in routing order)
// is due: a subject's events go out in order, one at a time. The heads
// due now are one range of event_deliveries_due, so a claim reads about
// limit rows however long the backlog. On PostgreSQL replicas claim
// different rows (FOR UPDATE SKIP LOCKED); a claim that runs out (its
// replica died) is taken again.
func (s *Store) ClaimDeliveries(ctx context.Context, subscription, claimer string, lease time.Duration, limit int) ([]Delivery, error) {
	var out []Delivery
	err := s.InTx(ctx, func(tx *Tx) error {
		now := tx.now
		var ids []int64
		err := sqlx.SelectContext(ctx, tx, &ids, tx.Rebind(s.claimSQL()), subscription, now, now, limit)
		if err != nil {
			return fmt.Errorf("claim deliveries of %s: %w", subscription, mapError(err))
		}
		if len(ids) == 0 {
			return nil
		}
		q, args, err := sqlx.In("UPDATE event_deliveries SET claimed_by = ?, claimed_until = ? WHERE id IN (?)", claimer, now.Add(lease), ids)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(q), args...); err != nil {
			return fmt.Errorf("claim deliveries of %s: %w", subscription, mapError(err))
		}
		q, args, err = sqlx.In("SELECT "+deliveryCols+deliveryFrom+" WHERE d.id IN (?) ORDER BY d.event_id", ids)
		if err != nil {
			return err
		}
		if err := sqlx.SelectContext(ctx, tx, &out, tx.Rebind(q), args...); err != nil {
			return fmt.Errorf("read claimed deliveries: %w", mapError(err))
		}
		return nil
	})
	fixDeliveryTimes(out)
	return out, err
}

// claimSQL selects the deliveries a claim takes; its arguments are the
// subscription, now twice and the limit.
func (s *Store) claimSQL() string {
	lock := ""
	if s.dialect == migrations.Postgres {
		lock = " FOR UPDATE OF d SKIP LOCKED"
	}
	return `SELECT d.id FROM event_deliveries d
			WHERE d.subscription = ? AND d.status = 'pending' AND d.head = 1 AND d.next_at <= ? AND (d.claimed_until IS NULL OR d.claimed_until < ?)
			ORDER BY d.next_at, d.id LIMIT ?` + lock
}

// Attempt is how one attempt at a delivery ended: Status delivered, failed
// (given up) or pending (tried again at NextAt).
type Attempt struct {
	ID     int64
	Status string
	Code   int // the response's status code; 0 without a response
	Error  string
	NextAt time.Time
	// Unsent gives the claim back without an attempt (the worker stopped
	// before sending it).
	Unsent bool
}

// FinishDeliveries records attempts of deliveries claimer claimed, in one
// transaction; successes with one statement per response code. An attempt
// whose claim was lost (it ran out, and another replica took it) is not
// recorded.
func (s *Store) FinishDeliveries(ctx context.Context, claimer string, as []Attempt) error {
	if len(as) == 0 {
		return nil
	}
	// Attempts made are recorded even when the worker is stopping.
	ctx = context.WithoutCancel(ctx)
	return s.InTx(ctx, func(tx *Tx) error {
		if err := s.lockHeads(ctx, tx, false); err != nil {
			return err
		}
		ok := map[int][]int64{}
		var over []int64 // left pending: their subjects' next deliveries are due
		for _, a := range as {
			if a.Unsent {
				if _, err := tx.ExecContext(ctx, tx.Rebind("UPDATE event_deliveries SET claimed_by = '', claimed_until = NULL WHERE id = ? AND claimed_by = ?"), a.ID, claimer); err != nil {
					return fmt.Errorf("give back delivery %d: %w", a.ID, mapError(err))
				}
				continue
			}
			if a.Status == DeliveryDelivered && a.Error == "" {
				ok[a.Code] = append(ok[a.Code], a.ID)
				continue
			}
			// A delivery tried again stays its subject's head; one given
			// up hands it on.
			head := "head"
			if a.Status != DeliveryPending {
				head = "0"
				over = append(over, a.ID)
			}
			_, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE event_deliveries SET status = ?, attempts = attempts + 1, response_code = ?, last_error = ?,
				next_at = ?, claimed_by = '', claimed_until = NULL, updated_at = ?, head = `+head+` WHERE id = ? AND claimed_by = ?`),
				a.Status, a.Code, clip(a.Error), a.NextAt.UTC(), tx.now, a.ID, claimer)
			if err != nil {
				return fmt.Errorf("record delivery %d: %w", a.ID, mapError(err))
			}
		}
		for code, ids := range ok {
			for _, chunk := range chunks(ids, 1000) {
				q, args, err := sqlx.In(`UPDATE event_deliveries SET status = 'delivered', attempts = attempts + 1, response_code = ?, last_error = '',
					claimed_by = '', claimed_until = NULL, updated_at = ?, head = 0 WHERE claimed_by = ? AND id IN (?)`, code, tx.now, claimer, chunk)
				if err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, tx.Rebind(q), args...); err != nil {
					return fmt.Errorf("record %d deliveries: %w", len(chunk), mapError(err))
				}
			}
			over = append(over, ids...)
		}
		// A delivery whose claim was lost is still pending and its
		// subject's head: promoteHeads leaves that subject alone.
		return tx.promoteHeads(ctx, "id", over)
	})
}

// DeliveryFilter selects deliveries; zero fields select everything.
type DeliveryFilter struct {
	Subscription string
	Status       string
	Type         string // event type
	Subject      string
	Before       int64 // only ids below it: pages backwards
	Limit        int   // newest first; default and most MaxDeliveryPage
}

// MaxDeliveryPage is the most deliveries Deliveries returns at once.
const MaxDeliveryPage = 1000

// Deliveries returns the delivery log f selects, newest first.
func (s *Store) Deliveries(ctx context.Context, f DeliveryFilter) ([]Delivery, error) {
	var where []string
	var args []any
	add := func(cond string, v any) { where, args = append(where, cond), append(args, v) }
	if f.Subscription != "" {
		add("d.subscription = ?", f.Subscription)
	}
	if f.Status != "" {
		add("d.status = ?", f.Status)
	}
	if f.Type != "" {
		add("e.type = ?", f.Type)
	}
	if f.Subject != "" {
		add("d.subject = ?", f.Subject)
	}
	if f.Before > 0 {
		add("d.id < ?", f.Before)
	}
	q := newestFirst("SELECT "+deliveryCols+deliveryFrom, where, "d.id", f.Limit, MaxDeliveryPage)
	out := []Delivery{}
	if err := sqlx.SelectContext(ctx, s.db, &out, s.db.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("read the delivery log: %w", mapError(err))
	}
	fixDeliveryTimes(out)
	return out, nil
}

// Delivery returns one delivery with its event.
func (s *Store) Delivery(ctx context.Context, id int64) (*Delivery, error) {
	var out []Delivery
	if err := sqlx.SelectContext(ctx, s.db, &out, s.db.Rebind("SELECT "+deliveryCols+deliveryFrom+" WHERE d.id = ?"), id); err != nil {
		return nil, fmt.Errorf("read delivery %d: %w", id, mapError(err))
	}
	if len(out) == 0 {
		return nil, schema.FieldErrorf(schema.ENOTFOUND, "id", "delivery %d not found", id)
	}
	fixDeliveryTimes(out)
	return &out[0], nil
}

// Redeliver sends a delivery again, as soon as the worker gets to it:
// pending, due now, its retries counted afresh. A delivery being sent
// (claimed) is refused with ECONFLICT.
func (s *Store) Redeliver(ctx context.Context, id int64, by By) (*Delivery, error) {
	err := s.InTx(ctx, func(tx *Tx) error {
		if err := s.lockHeads(ctx, tx, false); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE event_deliveries SET status = 'pending', next_at = ?, since = ?, updated_at = ?, last_error = ''
			WHERE id = ? AND (status <> 'pending' OR claimed_until IS NULL OR claimed_until < ?)`), tx.now, tx.now, tx.now, id, tx.now)
		if err != nil {
			return fmt.Errorf("redeliver %d: %w", id, mapError(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var exists bool
			if err := tx.GetContext(ctx, &exists, tx.Rebind("SELECT COUNT(*) > 0 FROM event_deliveries WHERE id = ?"), id); err != nil {
				return fmt.Errorf("redeliver %d: %w", id, mapError(err))
			}
			if !exists {
				return schema.FieldErrorf(schema.ENOTFOUND, "id", "delivery %d not found", id)
			}
			return schema.FieldErrorf(schema.ECONFLICT, "id", "delivery %d is being sent right now; wait for its attempt to end", id)
		}
		// Pending again: its subject's head unless the subject has one
		// (then it goes when its turn comes).
		if err := tx.promoteHeads(ctx, "id", []int64{id}); err != nil {
			return err
		}
		return tx.Audit(ctx, AuditRecord{Actor: by.Actor, Action: "event.redeliver", Target: fmt.Sprintf("delivery %d", id), RemoteAddr: by.RemoteAddr, Success: true})
	})
	if err != nil {
		return nil, err
	}
	return s.Delivery(ctx, id)
}

// PruneEvents deletes events older than before whose deliveries are all
// over (delivered or failed), with their delivery log. It returns how
// many events it deleted. Events are found by id, from the oldest up to
// the first one at or after before (ids follow time, give or take a
// transaction's length): no index on at, which every import paid for.
func (s *Store) PruneEvents(ctx context.Context, before time.Time) (int64, error) {
	var bound []int64
	if err := sqlx.SelectContext(ctx, s.db, &bound, s.db.Rebind("SELECT id FROM events WHERE at >= ? ORDER BY id LIMIT 1"), before.UTC()); err != nil {
		return 0, fmt.Errorf("prune events: find the first to keep: %w", mapError(err))
	}
	upTo := int64(math.MaxInt64)
	if len(bound) > 0 {
		upTo = bound[0]
	}
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM events WHERE id < ? AND at < ? AND routed = 1
		AND NOT EXISTS (SELECT 1 FROM event_deliveries d WHERE d.event_id = events.id AND d.status = 'pending')`), upTo, before.UTC())
	if err != nil {
		return 0, fmt.Errorf("prune events: %w", mapError(err))
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// EventCounts says how many events wait to be routed and how many
// deliveries are pending, per subscription (for metrics and tana events).
func (s *Store) EventCounts(ctx context.Context) (unrouted int64, pending map[string]int64, err error) {
	if err := s.db.GetContext(ctx, &unrouted, "SELECT COUNT(*) FROM events WHERE routed = 0"); err != nil {
		return 0, nil, fmt.Errorf("count events: %w", mapError(err))
	}
	var rows []struct {
		Sub string `db:"subscription"`
		N   int64  `db:"n"`
	}
	if err := sqlx.SelectContext(ctx, s.db, &rows, "SELECT subscription, COUNT(*) AS n FROM event_deliveries WHERE status = 'pending' GROUP BY subscription"); err != nil {
		return 0, nil, fmt.Errorf("count deliveries: %w", mapError(err))
	}
	pending = map[string]int64{}
	for _, r := range rows {
		pending[r.Sub] = r.N
	}
	return unrouted, pending, nil
}

func fixDeliveryTimes(ds []Delivery) {
	for i := range ds {
		d := &ds[i]
		d.NextAt, d.CreatedAt, d.UpdatedAt, d.Since, d.Event.At = d.NextAt.UTC(), d.CreatedAt.UTC(), d.UpdatedAt.UTC(), d.Since.UTC(), d.Event.At.UTC()
		if d.ClaimedUntil != nil {
			t := d.ClaimedUntil.UTC()
			d.ClaimedUntil = &t
		}
	}
}
