package inventory

import "context"

// SelectPlanned exposes selectPlanned to the external tests.
func SelectPlanned(ctx context.Context, s *Store, query string) error {
	_, err := s.selectPlanned(ctx, query, nil)
	return err
}
