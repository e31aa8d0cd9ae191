package inventory

// The statements a grant runs under its pool's lock, for the tests of
// their query plans.
const (
	ExpireHoldsSQL = expireHoldsSQL
	MaxSeqSQL      = maxSeqSQL
)

// NextFreeSeqSQL is NextFreeSeq's statement on dialect.
func NextFreeSeqSQL(dialect string) string { return nextFreeSeqSQL[dialect] }
