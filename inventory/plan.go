package inventory

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/tana-cmdb/tana/schema"
)

// Plan statuses.
const (
	PlanProposed = "proposed"
	PlanApplied  = "applied"
	PlanFailed   = "failed"
	PlanPartial  = "partial"
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
}

const planCols = "id, actor, status, filter, fixes, data, error, created_at, applied_at"

// SavePlan stores a new plan, stamped with the transaction's time.
func (tx *Tx) SavePlan(ctx context.Context, p *PlanRecord) error {
	p.CreatedAt = tx.now
	_, err := tx.ExecContext(ctx, tx.Rebind("INSERT INTO plans ("+planCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"),
		p.ID, p.Actor, p.Status, p.Filter, p.Fixes, p.Data, p.Error, p.CreatedAt, nil)
	if err != nil {
		return fmt.Errorf("store plan: %w", mapError(err))
	}
	return nil
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
	return nil
}

// Plan returns a stored plan.
func (s *Store) Plan(ctx context.Context, id string) (*PlanRecord, error) {
	var p PlanRecord
	err := sqlx.GetContext(ctx, s.db, &p, s.db.Rebind("SELECT "+planCols+" FROM plans WHERE id = ?"), id)
	if err == sql.ErrNoRows {
		return nil, schema.Errorf(schema.ENOTFOUND, "plan %s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("load plan %s: %w", id, mapError(err))
	}
	p.fixTimes()
	return &p, nil
}

// Plans returns the newest plans first, without their data.
func (s *Store) Plans(ctx context.Context, limit int) ([]PlanRecord, error) {
	if limit <= 0 {
		limit = 50
	}
	var out []PlanRecord
	err := sqlx.SelectContext(ctx, s.db, &out, fmt.Sprintf("SELECT id, actor, status, filter, fixes, '' AS data, error, created_at, applied_at FROM plans ORDER BY created_at DESC, id DESC LIMIT %d", limit))
	if err != nil {
		return nil, fmt.Errorf("load plans: %w", mapError(err))
	}
	for i := range out {
		out[i].fixTimes()
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
