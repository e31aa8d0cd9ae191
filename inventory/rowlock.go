package inventory

import "github.com/tana-cmdb/tana/migrations"

// A write that carries no version from its caller (an import, a collect's
// create batch, a delete with version 0) merges into the entry as it is
// when the write runs, never as it was when the batch read it: it holds
// the entry's row lock from its read to its commit. On SQLite the
// transaction holds the database's one write lock from BEGIN IMMEDIATE
// on, so what it reads cannot change; on PostgreSQL (READ COMMITTED) the
// read locks the entries, SELECT … FOR UPDATE, which waits for a
// concurrent writer of them and then returns their new state.

// forUpdate ends a read of the one entry a write changes: on PostgreSQL
// it locks the row.
func (tx *Tx) forUpdate() string {
	if tx.s.dialect == migrations.Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// forUpdateInOrder ends a read of the entries a batch changes: on
// PostgreSQL it locks them in id order, so that two batches lock the
// entries they share in the same order and cannot deadlock.
func (tx *Tx) forUpdateInOrder() string {
	if tx.s.dialect == migrations.Postgres {
		return " ORDER BY id FOR UPDATE"
	}
	return ""
}
