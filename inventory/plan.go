package inventory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/tana-cmdb/tana/migrations"
	"github.com/tana-cmdb/tana/schema"
)

// Plan statuses. A plan is applied at most once: a run claims it
// (applying), then marks it applied, partial (some fixes failed) or failed;
// a refused apply gives it back (proposed). A plan whose applying run died
// reads as interrupted, and may be claimed again: its pins still guard it.
const (
	PlanProposed    = "proposed"
	PlanApplying    = "applying"
	PlanApplied     = "applied"
	PlanFailed      = "failed"
	PlanPartial     = "partial"
	PlanInterrupted = "interrupted"
)

// PlanRecord is a stored plan. Data is the reconcile engine's plan (fixes,
// entry versions, snapshot ids) as JSON.
type PlanRecord struct {
	ID        string     `json:"id" db:"id"`
	Actor     string     `json:"actor" db:"actor"`
	Status    string     `json:"status" db:"status"`
	Filter    string     `json:"filter,omitempty" db:"filter"`
	Fixes     int        `json:"fixes" db:"fixes"`
	Data      string     `json:"-" db:"data"`
	Error     string     `json:"error,omitempty" db:"error"`
	CreatedAt time.Time  `json:"created_at" db:"created_at"`
	AppliedAt *time.Time `json:"applied_at,omitempty" db:"applied_at"`
	RunID     string     `json:"run_id,omitempty" db:"run_id"` // the run applying it, or that applied it
}

const planCols = "id, actor, status, filter, fixes, data, error, created_at, applied_at, run_id"

// planRead shows a plan whose applying run is not alive as interrupted
// (the argument is now).
const planRead = `id, actor, CASE WHEN status = 'applying' AND NOT EXISTS (
	SELECT 1 FROM runs r WHERE r.id = plans.run_id AND r.status = 'running' AND r.expires_at >= ?) THEN 'interrupted' ELSE status END AS status,
	filter, fixes, %s AS data, error, created_at, applied_at, run_id`

// SavePlan stores a new plan, stamped with the transaction's time.
func (tx *Tx) SavePlan(ctx context.Context, p *PlanRecord) error {
	p.CreatedAt = tx.now
	_, err := tx.ExecContext(ctx, tx.Rebind("INSERT INTO plans ("+planCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
		p.ID, p.Actor, p.Status, p.Filter, p.Fixes, p.Data, p.Error, p.CreatedAt, nil, "")
	if err != nil {
		return fmt.Errorf("store plan: %w", mapError(err))
	}
	ev, err := planEvent(schema.EventPlanCreated, *p)
	if err != nil {
		return err
	}
	return tx.Emit(ctx, ev)
}

// SetPlanStatus records how an apply of the plan ended.
func (tx *Tx) SetPlanStatus(ctx context.Context, id, status, errMsg string) error {
	var applied any
	if status != PlanProposed {
		applied = tx.now
	}
	res, err := tx.ExecContext(ctx, tx.Rebind("UPDATE plans SET status = ?, error = ?, applied_at = ? WHERE id = ?"), status, errMsg, applied, id)
	if err != nil {
		return fmt.Errorf("update plan %s: %w", id, mapError(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return schema.Errorf(schema.ENOTFOUND, "plan %s not found", id)
	}
	return tx.emitPlanEnd(ctx, id, status)
}

// emitPlanEnd writes plan.applied or plan.failed (failed and partial
// applies) for the plan's new status; other statuses have no event.
func (tx *Tx) emitPlanEnd(ctx context.Context, id, status string) error {
	typ := map[string]string{PlanApplied: schema.EventPlanApplied, PlanFailed: schema.EventPlanFailed, PlanPartial: schema.EventPlanFailed}[status]
	if typ == "" {
		return nil
	}
	var p PlanRecord
	if err := sqlx.GetContext(ctx, tx, &p, tx.Rebind("SELECT "+planCols+" FROM plans WHERE id = ?"), id); err != nil {
		return fmt.Errorf("load plan %s: %w", id, mapError(err))
	}
	p.fixTimes()
	p.Data = ""
	ev, err := planEvent(typ, p)
	if err != nil {
		return err
	}
	return tx.Emit(ctx, ev)
}

// ClaimPlan makes run the one run applying plan id. It succeeds only for
// a proposed or interrupted plan, or one whose applying run is over (its
// process gone, or its lease run out); otherwise it fails with ECONFLICT
// saying why: the plan was applied already (when, by which run), or a
// live run is applying it. The plan's row is locked while it decides.
func (s *Store) ClaimPlan(ctx context.Context, id string, run *Run) error {
	return s.InTx(ctx, func(tx *Tx) error {
		forUpdate := ""
		if s.dialect == migrations.Postgres {
			forUpdate = " FOR UPDATE"
		}
		var p PlanRecord
		err := sqlx.GetContext(ctx, tx, &p, tx.Rebind("SELECT "+planCols+" FROM plans WHERE id = ?"+forUpdate), id)
		if errors.Is(err, sql.ErrNoRows) {
			return schema.Errorf(schema.ENOTFOUND, "plan %s not found", id)
		}
		if err != nil {
			return fmt.Errorf("claim plan %s: %w", id, mapError(err))
		}
		p.fixTimes()
		switch p.Status {
		case PlanProposed, PlanInterrupted:
		case PlanApplying:
			over, err := s.runOver(ctx, tx, tx.Rebind, p.RunID, tx.now)
			if err != nil {
				return err
			}
			if !over {
				return schema.Errorf(schema.ECONFLICT, "plan %s is being applied by run %s; wait for it to finish (tana runs)", id, p.RunID)
			}
			if err := interrupt(ctx, tx, tx.Rebind, p.RunID, "its process is gone or its lease ran out (plan "+id+" claimed again by run "+run.ID+")"); err != nil {
				return err
			}
		default:
			when := ""
			if p.AppliedAt != nil {
				when = " at " + p.AppliedAt.Format(time.RFC3339)
			}
			return schema.Errorf(schema.ECONFLICT, "plan %s was already applied%s by run %s (status %s); a plan is applied once: run tana plan for a new one",
				id, when, p.RunID, p.Status)
		}
		_, err = tx.ExecContext(ctx, tx.Rebind("UPDATE plans SET status = ?, run_id = ?, error = '' WHERE id = ?"), PlanApplying, run.ID, id)
		if err != nil {
			return fmt.Errorf("claim plan %s: %w", id, mapError(err))
		}
		return nil
	})
}

// runOver tells whether a run is over: ended, its process on this host
// gone, or its lease run out.
func (s *Store) runOver(ctx context.Context, q sqlx.QueryerContext, rebind func(string) string, runID string, now time.Time) (bool, error) {
	var r RunRecord
	err := sqlx.GetContext(ctx, q, &r, rebind("SELECT id, status, expires_at, host, pid, pid_start FROM runs WHERE id = ?"), runID)
	if errors.Is(err, sql.ErrNoRows) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("load run %s: %w", runID, mapError(err))
	}
	if r.Status != RunRunning {
		return true, nil
	}
	if alive, known := r.alive(s.proc); known {
		return !alive, nil
	}
	return r.ExpiresAt == nil || r.ExpiresAt.Before(now), nil
}

// ReleasePlan gives a plan the run claimed back, untouched (proposed):
// the apply was refused before it changed anything.
func (s *Store) ReleasePlan(ctx context.Context, id string, run *Run) error {
	_, err := s.db.ExecContext(context.WithoutCancel(ctx), s.db.Rebind("UPDATE plans SET status = ?, run_id = '' WHERE id = ? AND run_id = ? AND status = ?"),
		PlanProposed, id, run.ID, PlanApplying)
	if err != nil {
		return fmt.Errorf("release plan %s: %w", id, mapError(err))
	}
	return nil
}

// EndPlan records that an apply of the plan stopped after it may have
// changed reality: failed (it is not applied again) or interrupted (it was
// stopped, as a crash would; it may be applied again, its pins guarding
// what it fixes).
func (s *Store) EndPlan(ctx context.Context, id string, run *Run, status, why string) error {
	ctx = context.WithoutCancel(ctx)
	return s.InTx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, tx.Rebind("UPDATE plans SET status = ?, error = ?, applied_at = ? WHERE id = ? AND run_id = ?"),
			status, why, tx.now.UTC(), id, run.ID)
		if err != nil {
			return fmt.Errorf("mark plan %s %s: %w", id, status, mapError(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return tx.emitPlanEnd(ctx, id, status)
	})
}

// Plan returns a stored plan.
func (s *Store) Plan(ctx context.Context, id string) (*PlanRecord, error) {
	var p PlanRecord
	err := sqlx.GetContext(ctx, s.db, &p, s.db.Rebind("SELECT "+fmt.Sprintf(planRead, "data")+" FROM plans WHERE id = ?"), s.Now().UTC(), id)
	if err == sql.ErrNoRows {
		return nil, schema.Errorf(schema.ENOTFOUND, "plan %s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("load plan %s: %w", id, mapError(err))
	}
	p.fixTimes()
	return &p, s.showInterrupted(ctx, &p)
}

// showInterrupted shows an applying plan whose run is over as
// interrupted, without waiting for the run's lease when its process is
// known to be gone.
func (s *Store) showInterrupted(ctx context.Context, p *PlanRecord) error {
	if p.Status != PlanApplying {
		return nil
	}
	over, err := s.runOver(ctx, s.db, s.db.Rebind, p.RunID, s.Now())
	if over {
		p.Status = PlanInterrupted
	}
	return err
}

// Plans returns the newest plans first, without their data.
func (s *Store) Plans(ctx context.Context, limit int) ([]PlanRecord, error) {
	if limit <= 0 {
		limit = 50
	}
	var out []PlanRecord
	err := sqlx.SelectContext(ctx, s.db, &out, s.db.Rebind(fmt.Sprintf("SELECT "+fmt.Sprintf(planRead, "''")+" FROM plans ORDER BY created_at DESC, id DESC LIMIT %d", limit)),
		s.Now().UTC())
	if err != nil {
		return nil, fmt.Errorf("load plans: %w", mapError(err))
	}
	for i := range out {
		out[i].fixTimes()
		if err := s.showInterrupted(ctx, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (p *PlanRecord) fixTimes() {
	p.CreatedAt = p.CreatedAt.UTC()
	if p.AppliedAt != nil {
		t := p.AppliedAt.UTC()
		p.AppliedAt = &t
	}
}
