package inventory

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/tana-cmdb/tana/schema"
)

// The audited actions tana writes itself; callers may write others (the
// permissions code writes "grant" and "revoke").
const (
	AuditLogin         = "login"
	AuditLogout        = "logout"
	AuditTokenUse      = "token.use"
	AuditTokenCreate   = "token.create"
	AuditTokenRevoke   = "token.revoke"
	AuditUserAdd       = "user.add"
	AuditUserChange    = "user.change"
	AuditTeamAdd       = "team.add"
	AuditTeamJoin      = "team.member.add"
	AuditTeamLeave     = "team.member.remove"
	AuditLDAPTeamsSync = "team.ldap_sync"
)

// AuditRecord is one line of the audit log: who (Actor) did what (Action)
// to what (Target), when, from where, and whether it worked.
type AuditRecord struct {
	ID     int64     `json:"id" db:"id"`
	At     time.Time `json:"at" db:"at"`
	Actor  string    `json:"actor" db:"actor"`
	Action string    `json:"action" db:"action"`
	Target string    `json:"target,omitempty" db:"target"`
	// Detail says more in words: the reason of a failed login, a change's
	// fields, a grant's level.
	Detail     string `json:"detail,omitempty" db:"detail"`
	RemoteAddr string `json:"remote_addr,omitempty" db:"remote_addr"`
	Success    bool   `json:"success" db:"success"`
}

// By is who makes a change to users, teams or tokens, for its audit row:
// a user or token name (or the CLI's operator), and the address the
// request came from ("" from the CLI).
type By struct {
	Actor      string
	RemoteAddr string
}

// Audit appends r to the audit log; At defaults to the store's clock.
func (s *Store) Audit(ctx context.Context, r AuditRecord) error {
	return auditTx(ctx, s.db, s.Now(), r)
}

// Audit appends r to the audit log inside the transaction, so that a
// change and its record land together.
func (tx *Tx) Audit(ctx context.Context, r AuditRecord) error {
	return auditTx(ctx, tx, tx.now, r)
}

// auditLimit bounds what one field of an audit row keeps: the row records
// an event, and an attacker's megabyte-long user name is not one.
const auditLimit = 1000

func auditTx(ctx context.Context, x sqlx.ExecerContext, now time.Time, r AuditRecord) error {
	if strings.TrimSpace(r.Action) == "" {
		return schema.FieldErrorf(schema.EINVALID, "action", "an audit record needs an action")
	}
	if r.At.IsZero() {
		r.At = now
	}
	_, err := x.ExecContext(ctx, rebind(x, "INSERT INTO audit (at, actor, action, target, detail, remote_addr, success) VALUES (?, ?, ?, ?, ?, ?, ?)"),
		r.At.UTC(), clip(r.Actor), clip(r.Action), clip(r.Target), clip(r.Detail), clip(r.RemoteAddr), r.Success)
	if err != nil {
		return fmt.Errorf("audit %s: %w", r.Action, mapError(err))
	}
	return nil
}

// rebind turns ? into the handle's placeholders.
func rebind(x any, query string) string {
	if r, ok := x.(interface{ Rebind(string) string }); ok {
		return r.Rebind(query)
	}
	return query
}

// clip cuts s to auditLimit bytes on a rune boundary, marking the cut.
func clip(s string) string {
	if len(s) <= auditLimit {
		return s
	}
	cut := auditLimit
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// AuditFilter selects audit records; zero fields select everything.
type AuditFilter struct {
	Since, Until time.Time // at >= Since, at < Until
	Actor        string
	Action       string
	// Before pages backwards: only records with an id below it.
	Before int64
	// Limit caps the records returned, newest first (default and most
	// 1000).
	Limit int
}

// MaxAuditPage is the most records Audits returns at once.
const MaxAuditPage = 1000

// Audits returns the audit records f selects, newest first.
func (s *Store) Audits(ctx context.Context, f AuditFilter) ([]AuditRecord, error) {
	var where []string
	var args []any
	add := func(cond string, v any) { where, args = append(where, cond), append(args, v) }
	if !f.Since.IsZero() {
		add("at >= ?", f.Since.UTC())
	}
	if !f.Until.IsZero() {
		add("at < ?", f.Until.UTC())
	}
	if f.Actor != "" {
		add("actor = ?", f.Actor)
	}
	if f.Action != "" {
		add("action = ?", f.Action)
	}
	if f.Before > 0 {
		add("id < ?", f.Before)
	}
	q := newestFirst("SELECT id, at, actor, action, target, detail, remote_addr, success FROM audit", where, "id", f.Limit, MaxAuditPage)
	out := []AuditRecord{}
	if err := sqlx.SelectContext(ctx, s.db, &out, s.db.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("read the audit log: %w", mapError(err))
	}
	for i := range out {
		out[i].At = out[i].At.UTC()
	}
	return out, nil
}

// FailedLogins counts the logins refused since t that came from addr:
// those for name, and those for any name. Logins refused for being
// throttled do not count, so waiting out the window always works.
func (s *Store) FailedLogins(ctx context.Context, name, addr string, since time.Time) (forName, fromAddr int, err error) {
	var n struct {
		ForName  int `db:"for_name"`
		FromAddr int `db:"from_addr"`
	}
	err = s.db.GetContext(ctx, &n, s.db.Rebind(`SELECT COALESCE(SUM(CASE WHEN actor = ? THEN 1 ELSE 0 END), 0) AS for_name, COUNT(*) AS from_addr
		FROM audit WHERE at >= ? AND action = ? AND success = ? AND remote_addr = ? AND detail NOT LIKE 'throttled%'`),
		clip(name), since.UTC(), AuditLogin, false, clip(addr))
	if err != nil {
		return 0, 0, fmt.Errorf("count failed logins: %w", mapError(err))
	}
	return n.ForName, n.FromAddr, nil
}

// newestFirst completes a log's query: its conditions, newest first by
// idCol, at most limit rows (0 or more than most: most).
func newestFirst(query string, where []string, idCol string, limit, most int) string {
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	if limit <= 0 || limit > most {
		limit = most
	}
	return query + fmt.Sprintf(" ORDER BY %s DESC LIMIT %d", idCol, limit)
}
