package inventory

import (
	"context"
	"errors"
)

// lostRace marks an error of a transaction that lost a race with a
// concurrent one (PostgreSQL broke a deadlock; another batch inserted an
// entry of the same name first): run again, it sees the winner's work.
type lostRace struct{ err error }

func (e *lostRace) Error() string { return e.err.Error() }
func (e *lostRace) Unwrap() error { return e.err }

// maxAttempts bounds how often a batch that lost a race runs again.
const maxAttempts = 3

// retryRaces runs fn, again while it loses a race, up to maxAttempts.
func (s *Store) retryRaces(ctx context.Context, fn func() error) error {
	var err error
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		var lr *lostRace
		if err = fn(); !errors.As(err, &lr) || ctx.Err() != nil {
			return err
		}
		s.log.Debug("write lost a race with a concurrent one; running it again", "attempt", attempt, "err", err)
	}
	return err
}
