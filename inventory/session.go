package inventory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/tana-cmdb/tana/schema"
)

// Session is a web session as stored: the hash of its cookie, never the
// cookie. User, UserRole, UserSource and UserDisabled are its user's, as
// of the read.
type Session struct {
	ID          int64         `db:"id"`
	UserID      int64         `db:"user_id"`
	CSRF        string        `db:"csrf"`
	RemoteAddr  string        `db:"remote_addr"`
	CreatedAt   time.Time     `db:"created_at"`
	LastSeenAt  time.Time     `db:"last_seen_at"`
	IdleSeconds int64         `db:"idle_seconds"`
	ExpiresAt   time.Time     `db:"expires_at"`
	EndedAt     *time.Time    `db:"ended_at"`
	User        string        `db:"user_name"`
	UserRole    string        `db:"user_role"`
	UserSource  string        `db:"user_source"`
	Disabled    bool          `db:"user_disabled"`
	Idle        time.Duration `db:"-"`
}

// NewSession is a session to store.
type NewSession struct {
	Hash       string // of the cookie's secret
	User       string
	CSRF       string
	RemoteAddr string
	Idle       time.Duration // ends after this long without a request
	Lifetime   time.Duration // ends this long after it began, whatever
}

// sessionsKept is how long rows of sessions that have expired are kept.
const sessionsKept = 24 * time.Hour

// CreateSession stores a new session for a user, and drops the rows of
// sessions that expired more than a day ago.
func (s *Store) CreateSession(ctx context.Context, n NewSession) (*Session, error) {
	if n.Hash == "" || n.CSRF == "" || n.Idle <= 0 || n.Lifetime <= 0 {
		return nil, schema.Errorf(schema.EINVALID, "a session needs a hash, a CSRF token, an idle timeout and a lifetime")
	}
	var out *Session
	err := s.InTx(ctx, func(tx *Tx) error {
		u, err := userTx(ctx, tx, n.User)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind("DELETE FROM sessions WHERE expires_at < ?"), tx.now.Add(-sessionsKept)); err != nil {
			return fmt.Errorf("drop old sessions: %w", mapError(err))
		}
		se := &Session{UserID: u.ID, CSRF: n.CSRF, RemoteAddr: n.RemoteAddr, CreatedAt: tx.now, LastSeenAt: tx.now,
			IdleSeconds: int64(n.Idle / time.Second), ExpiresAt: tx.now.Add(n.Lifetime),
			User: u.Name, UserRole: u.Role, UserSource: u.Source, Disabled: u.Disabled, Idle: n.Idle}
		se.ID, err = insertID(ctx, tx, "INSERT INTO sessions (hash, user_id, csrf, remote_addr, created_at, last_seen_at, idle_seconds, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			n.Hash, se.UserID, se.CSRF, se.RemoteAddr, se.CreatedAt, se.LastSeenAt, se.IdleSeconds, se.ExpiresAt)
		if err != nil {
			return fmt.Errorf("create session for %s: %w", n.User, err)
		}
		out = se
		return nil
	})
	return out, err
}

// SessionByHash returns the session whose cookie hashes to hash, ended or
// not: the caller judges whether it is still good (Session.Live).
func (s *Store) SessionByHash(ctx context.Context, hash string) (*Session, error) {
	var se Session
	err := sqlx.GetContext(ctx, s.db, &se, s.db.Rebind(`SELECT s.id, s.user_id, s.csrf, s.remote_addr, s.created_at, s.last_seen_at, s.idle_seconds, s.expires_at, s.ended_at,
		u.name AS user_name, u.role AS user_role, u.source AS user_source, u.disabled AS user_disabled
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.hash = ?`), hash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, schema.Errorf(schema.EUNAUTHORIZED, "no such session")
	}
	if err != nil {
		return nil, fmt.Errorf("read session: %w", mapError(err))
	}
	se.CreatedAt, se.LastSeenAt, se.ExpiresAt = se.CreatedAt.UTC(), se.LastSeenAt.UTC(), se.ExpiresAt.UTC()
	se.Idle = time.Duration(se.IdleSeconds) * time.Second
	return &se, nil
}

// Live says why the session is no longer good at now, or "" if it is.
func (se *Session) Live(now time.Time) string {
	switch {
	case se.EndedAt != nil:
		return "ended"
	case !now.Before(se.ExpiresAt):
		return "expired"
	case now.Sub(se.LastSeenAt) >= se.Idle:
		return "idle"
	case se.Disabled:
		return "user disabled"
	}
	return ""
}

// TouchSession moves the session's last request on to at.
func (s *Store) TouchSession(ctx context.Context, id int64, at time.Time) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind("UPDATE sessions SET last_seen_at = ? WHERE id = ? AND last_seen_at < ?"), at.UTC(), id, at.UTC())
	if err != nil {
		return fmt.Errorf("touch session: %w", mapError(err))
	}
	return nil
}

// EndSession ends the session (logout); ending an ended one is no error.
func (s *Store) EndSession(ctx context.Context, id int64) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind("UPDATE sessions SET ended_at = ? WHERE id = ? AND ended_at IS NULL"), s.Now(), id)
	if err != nil {
		return fmt.Errorf("end session: %w", mapError(err))
	}
	return nil
}

// endUserSessions ends every open session of a user.
func endUserSessions(ctx context.Context, tx *Tx, userID int64) error {
	_, err := tx.ExecContext(ctx, tx.Rebind("UPDATE sessions SET ended_at = ? WHERE user_id = ? AND ended_at IS NULL"), tx.now, userID)
	if err != nil {
		return fmt.Errorf("end sessions of user %d: %w", userID, mapError(err))
	}
	return nil
}
