package inventory

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/tana-cmdb/tana/schema"
)

// StoredSubscription is an event subscription made through the API (those
// of tana.yaml are not stored). Spec is package events' subscription as
// JSON; it names the environment variables holding secrets, never the
// secrets.
type StoredSubscription struct {
	Name      string    `json:"name" db:"name"`
	Spec      string    `json:"spec" db:"spec"`
	CreatedBy string    `json:"created_by" db:"created_by"`
	CreatedAt time.Time `json:"created_at" db:"created_at"`
}

// SaveSubscription stores a subscription, replacing one of the same name,
// and audits it.
func (s *Store) SaveSubscription(ctx context.Context, sub StoredSubscription, by By) error {
	return s.InTx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO event_subscriptions (name, spec, created_by, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, created_by = excluded.created_by, created_at = excluded.created_at`),
			sub.Name, sub.Spec, by.Actor, tx.now)
		if err != nil {
			return fmt.Errorf("save subscription %q: %w", sub.Name, mapError(err))
		}
		return tx.Audit(ctx, AuditRecord{Actor: by.Actor, Action: "event.subscription.save", Target: sub.Name, Detail: sub.Spec, RemoteAddr: by.RemoteAddr, Success: true})
	})
}

// DeleteSubscription removes a stored subscription; its pending
// deliveries stay in the log, and are not sent.
func (s *Store) DeleteSubscription(ctx context.Context, name string, by By) error {
	return s.InTx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, tx.Rebind("DELETE FROM event_subscriptions WHERE name = ?"), name)
		if err != nil {
			return fmt.Errorf("delete subscription %q: %w", name, mapError(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return schema.FieldErrorf(schema.ENOTFOUND, "name", "subscription %q not found (subscriptions of tana.yaml are changed there)", name)
		}
		return tx.Audit(ctx, AuditRecord{Actor: by.Actor, Action: "event.subscription.delete", Target: name, RemoteAddr: by.RemoteAddr, Success: true})
	})
}

// Subscriptions returns the stored subscriptions by name.
func (s *Store) Subscriptions(ctx context.Context) ([]StoredSubscription, error) {
	out := []StoredSubscription{}
	if err := sqlx.SelectContext(ctx, s.db, &out, "SELECT name, spec, created_by, created_at FROM event_subscriptions ORDER BY name"); err != nil {
		return nil, fmt.Errorf("read subscriptions: %w", mapError(err))
	}
	for i := range out {
		out[i].CreatedAt = out[i].CreatedAt.UTC()
	}
	return out, nil
}
