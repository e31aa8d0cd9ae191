package inventory

import "context"

// SelectPlanned exposes selectPlanned to the external tests.
func SelectPlanned(ctx context.Context, s *Store, query string) error {
	_, err := s.selectPlanned(ctx, query, nil)
	return err
}

// Abandon stops the run's heartbeat without finishing it, as if its
// process had died.
func (r *Run) Abandon() {
	r.once.Do(func() {
		close(r.stop)
		<-r.stopped
	})
}
