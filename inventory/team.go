package inventory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/tana-cmdb/tana/schema"
)

// Team is a group of users that permissions are granted to. LDAPGroup,
// when set, is the DN of the directory group whose members belong to it.
type Team struct {
	ID        int64     `json:"-" db:"id"`
	Name      string    `json:"name" db:"name"`
	LDAPGroup string    `json:"ldap_group,omitempty" db:"ldap_group"`
	CreatedAt time.Time `json:"created_at" db:"created_at"`
	UpdatedAt time.Time `json:"updated_at" db:"updated_at"`
	Members   []string  `json:"members" db:"-"`
}

// Where a membership comes from.
const (
	MemberLocal = "local" // tana team member add
	MemberLDAP  = "ldap"  // the team's LDAP group, as of the user's last login
)

// NormalizeDN is how a group DN is kept and compared: trimmed and
// lower-cased (directories answer DNs in the case they were written in).
func NormalizeDN(dn string) string { return strings.ToLower(strings.TrimSpace(dn)) }

// CreateTeam adds a team and records it in the audit log.
func (s *Store) CreateTeam(ctx context.Context, by By, t Team) (*Team, error) {
	if err := CheckName("name", t.Name); err != nil {
		return nil, err
	}
	t.LDAPGroup = NormalizeDN(t.LDAPGroup)
	err := s.InTx(ctx, func(tx *Tx) error { return createTeamTx(ctx, tx, by, &t) })
	if err != nil {
		return nil, err
	}
	t.Members = []string{}
	return &t, nil
}

func createTeamTx(ctx context.Context, tx *Tx, by By, t *Team) error {
	t.CreatedAt, t.UpdatedAt = tx.now, tx.now
	var err error
	t.ID, err = insertID(ctx, tx, "INSERT INTO teams (name, ldap_group, created_at, updated_at) VALUES (?, ?, ?, ?)",
		t.Name, t.LDAPGroup, t.CreatedAt, t.UpdatedAt)
	if schema.ErrorCode(err) == schema.ECONFLICT {
		return schema.FieldErrorf(schema.ECONFLICT, "name", "a team named %q exists", t.Name)
	}
	if err != nil {
		return fmt.Errorf("create team %q: %w", t.Name, err)
	}
	detail := ""
	if t.LDAPGroup != "" {
		detail = "ldap_group=" + t.LDAPGroup
	}
	return tx.Audit(ctx, AuditRecord{Actor: by.Actor, RemoteAddr: by.RemoteAddr, Action: AuditTeamAdd, Target: t.Name, Detail: detail, Success: true})
}

// Team returns the named team with its members.
func (s *Store) Team(ctx context.Context, name string) (*Team, error) {
	t, err := teamTx(ctx, s.db, name)
	if err != nil {
		return nil, err
	}
	err = sqlx.SelectContext(ctx, s.db, &t.Members, s.db.Rebind(
		"SELECT DISTINCT u.name FROM team_members m JOIN users u ON u.id = m.user_id WHERE m.team_id = ? ORDER BY u.name"), t.ID)
	if err != nil {
		return nil, fmt.Errorf("read members of team %q: %w", name, mapError(err))
	}
	return t, nil
}

func teamTx(ctx context.Context, x sqlx.QueryerContext, name string) (*Team, error) {
	var t Team
	err := sqlx.GetContext(ctx, x, &t, rebind(x, "SELECT id, name, ldap_group, created_at, updated_at FROM teams WHERE name = ?"), name)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, schema.FieldErrorf(schema.ENOTFOUND, "team", "no team named %q", name)
	}
	if err != nil {
		return nil, fmt.Errorf("read team %q: %w", name, mapError(err))
	}
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	t.Members = []string{}
	return &t, nil
}

// Teams lists the teams by name, with their members.
func (s *Store) Teams(ctx context.Context) ([]Team, error) {
	out := []Team{}
	if err := sqlx.SelectContext(ctx, s.db, &out, "SELECT id, name, ldap_group, created_at, updated_at FROM teams ORDER BY name"); err != nil {
		return nil, fmt.Errorf("list teams: %w", mapError(err))
	}
	var rows []struct {
		Team string `db:"team"`
		User string `db:"usr"`
	}
	err := sqlx.SelectContext(ctx, s.db, &rows,
		"SELECT DISTINCT t.name AS team, u.name AS usr FROM team_members m JOIN teams t ON t.id = m.team_id JOIN users u ON u.id = m.user_id ORDER BY t.name, u.name")
	if err != nil {
		return nil, fmt.Errorf("list team members: %w", mapError(err))
	}
	members := map[string][]string{}
	for _, r := range rows {
		members[r.Team] = append(members[r.Team], r.User)
	}
	for i := range out {
		out[i].CreatedAt, out[i].UpdatedAt = out[i].CreatedAt.UTC(), out[i].UpdatedAt.UTC()
		out[i].Members = append([]string{}, members[out[i].Name]...)
	}
	return out, nil
}

// UserTeams returns the names of the teams the named user belongs to, by
// name: what a principal's Teams are.
func (s *Store) UserTeams(ctx context.Context, user string) ([]string, error) {
	var out []string
	err := sqlx.SelectContext(ctx, s.db, &out, s.db.Rebind(
		"SELECT DISTINCT t.name FROM team_members m JOIN teams t ON t.id = m.team_id JOIN users u ON u.id = m.user_id WHERE u.name = ? ORDER BY t.name"), user)
	if err != nil {
		return nil, fmt.Errorf("read teams of %q: %w", user, mapError(err))
	}
	return out, nil
}

func userTeams(ctx context.Context, x sqlx.QueryerContext, userID int64) ([]string, error) {
	var out []string
	err := sqlx.SelectContext(ctx, x, &out, rebind(x,
		"SELECT DISTINCT t.name FROM team_members m JOIN teams t ON t.id = m.team_id WHERE m.user_id = ? ORDER BY t.name"), userID)
	if err != nil {
		return nil, fmt.Errorf("read teams of user %d: %w", userID, mapError(err))
	}
	return out, nil
}

// allMemberships maps user ids onto their teams' names.
func allMemberships(ctx context.Context, x sqlx.QueryerContext) (map[int64][]string, error) {
	var rows []struct {
		User int64  `db:"user_id"`
		Team string `db:"name"`
	}
	err := sqlx.SelectContext(ctx, x, &rows, "SELECT DISTINCT m.user_id, t.name FROM team_members m JOIN teams t ON t.id = m.team_id ORDER BY m.user_id, t.name")
	if err != nil {
		return nil, fmt.Errorf("read team members: %w", mapError(err))
	}
	out := map[int64][]string{}
	for _, r := range rows {
		out[r.User] = append(out[r.User], r.Team)
	}
	return out, nil
}

// AddTeamMember makes user a (local) member of team.
func (s *Store) AddTeamMember(ctx context.Context, by By, team, user string) error {
	return s.InTx(ctx, func(tx *Tx) error {
		t, u, err := teamAndUser(ctx, tx, team, user)
		if err != nil {
			return err
		}
		var n int
		if err := tx.GetContext(ctx, &n, tx.Rebind("SELECT COUNT(*) FROM team_members WHERE team_id = ? AND user_id = ? AND source = ?"), t.ID, u.ID, MemberLocal); err != nil {
			return fmt.Errorf("read membership: %w", mapError(err))
		}
		if n > 0 {
			return schema.FieldErrorf(schema.ECONFLICT, "user", "%s is a member of team %s already", user, team)
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind("INSERT INTO team_members (team_id, user_id, source) VALUES (?, ?, ?)"), t.ID, u.ID, MemberLocal); err != nil {
			return fmt.Errorf("add %s to team %s: %w", user, team, mapError(err))
		}
		return tx.Audit(ctx, AuditRecord{Actor: by.Actor, RemoteAddr: by.RemoteAddr, Action: AuditTeamJoin, Target: team, Detail: "user=" + user, Success: true})
	})
}

// RemoveTeamMember ends user's local membership of team. A membership
// that comes from the team's LDAP group is the directory's to end.
func (s *Store) RemoveTeamMember(ctx context.Context, by By, team, user string) error {
	return s.InTx(ctx, func(tx *Tx) error {
		t, u, err := teamAndUser(ctx, tx, team, user)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, tx.Rebind("DELETE FROM team_members WHERE team_id = ? AND user_id = ? AND source = ?"), t.ID, u.ID, MemberLocal)
		if err != nil {
			return fmt.Errorf("remove %s from team %s: %w", user, team, mapError(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notLocalMember(ctx, tx, t, u)
		}
		return tx.Audit(ctx, AuditRecord{Actor: by.Actor, RemoteAddr: by.RemoteAddr, Action: AuditTeamLeave, Target: team, Detail: "user=" + user, Success: true})
	})
}

// notLocalMember explains why there was no local membership to remove.
func notLocalMember(ctx context.Context, tx *Tx, t *Team, u *User) error {
	var n int
	if err := tx.GetContext(ctx, &n, tx.Rebind("SELECT COUNT(*) FROM team_members WHERE team_id = ? AND user_id = ?"), t.ID, u.ID); err != nil {
		return fmt.Errorf("read membership: %w", mapError(err))
	}
	if n > 0 {
		return schema.FieldErrorf(schema.EINVALID, "user", "%s is in team %s through LDAP group %s: remove them from the group in the directory", u.Name, t.Name, t.LDAPGroup)
	}
	return schema.FieldErrorf(schema.ENOTFOUND, "user", "%s is not a member of team %s", u.Name, t.Name)
}

func teamAndUser(ctx context.Context, tx *Tx, team, user string) (*Team, *User, error) {
	t, err := teamTx(ctx, tx, team)
	if err != nil {
		return nil, nil, err
	}
	u, err := userTx(ctx, tx, user)
	if err != nil {
		return nil, nil, err
	}
	return t, u, nil
}

// LDAPGroup is a directory group a user was found in at login.
type LDAPGroup struct {
	DN   string
	Name string // its cn: the name of the team Create makes for it
}

// SyncLDAPTeams makes the user's LDAP memberships those of the teams whose
// LDAP group is one of groups, dropping the ones of groups the user has
// left; local memberships stay. With create, a group no team maps yet
// becomes a team named after it, unless a team of that name exists (its
// LDAP group is never taken over). It returns all of the user's teams.
func (s *Store) SyncLDAPTeams(ctx context.Context, by By, user string, groups []LDAPGroup, create bool) ([]string, error) {
	var teams []string
	err := s.InTx(ctx, func(tx *Tx) error {
		u, err := userTx(ctx, tx, user)
		if err != nil {
			return err
		}
		want, err := ldapTeams(ctx, tx, by, groups, create)
		if err != nil {
			return err
		}
		if err := replaceLDAPMemberships(ctx, tx, by, u, want); err != nil {
			return err
		}
		teams, err = userTeams(ctx, tx, u.ID)
		return err
	})
	return teams, err
}

// ldapTeams returns the teams mapped onto groups, creating the missing
// ones when asked.
func ldapTeams(ctx context.Context, tx *Tx, by By, groups []LDAPGroup, create bool) (map[int64]string, error) {
	want := map[int64]string{}
	for _, g := range groups {
		dn := NormalizeDN(g.DN)
		var ts []Team
		if err := sqlx.SelectContext(ctx, tx, &ts, tx.Rebind("SELECT id, name FROM teams WHERE ldap_group = ?"), dn); err != nil {
			return nil, fmt.Errorf("find teams of group %s: %w", dn, mapError(err))
		}
		if len(ts) == 0 && create && CheckName("name", g.Name) == nil {
			if _, err := teamTx(ctx, tx, g.Name); schema.ErrorCode(err) != schema.ENOTFOUND {
				continue // taken by another team (or unreadable: no team then)
			}
			t := Team{Name: g.Name, LDAPGroup: dn}
			if err := createTeamTx(ctx, tx, by, &t); err != nil {
				return nil, err
			}
			ts = append(ts, t)
		}
		for _, t := range ts {
			want[t.ID] = t.Name
		}
	}
	return want, nil
}

// replaceLDAPMemberships makes u's LDAP memberships exactly want, with an
// audit row when they change.
func replaceLDAPMemberships(ctx context.Context, tx *Tx, by By, u *User, want map[int64]string) error {
	var have []struct {
		ID   int64  `db:"team_id"`
		Name string `db:"name"`
	}
	err := sqlx.SelectContext(ctx, tx, &have, tx.Rebind(
		"SELECT m.team_id, t.name FROM team_members m JOIN teams t ON t.id = m.team_id WHERE m.user_id = ? AND m.source = ?"), u.ID, MemberLDAP)
	if err != nil {
		return fmt.Errorf("read LDAP memberships of %s: %w", u.Name, mapError(err))
	}
	var joined, left []string
	for _, h := range have {
		if _, ok := want[h.ID]; ok {
			delete(want, h.ID)
			continue
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind("DELETE FROM team_members WHERE team_id = ? AND user_id = ? AND source = ?"), h.ID, u.ID, MemberLDAP); err != nil {
			return fmt.Errorf("drop LDAP membership of %s: %w", u.Name, mapError(err))
		}
		left = append(left, h.Name)
	}
	for id, name := range want {
		if _, err := tx.ExecContext(ctx, tx.Rebind("INSERT INTO team_members (team_id, user_id, source) VALUES (?, ?, ?)"), id, u.ID, MemberLDAP); err != nil {
			return fmt.Errorf("add LDAP membership of %s: %w", u.Name, mapError(err))
		}
		joined = append(joined, name)
	}
	if len(joined)+len(left) == 0 {
		return nil
	}
	slices.Sort(joined)
	slices.Sort(left)
	detail := fmt.Sprintf("joined=%s left=%s", strings.Join(joined, ","), strings.Join(left, ","))
	return tx.Audit(ctx, AuditRecord{Actor: by.Actor, RemoteAddr: by.RemoteAddr, Action: AuditLDAPTeamsSync, Target: u.Name, Detail: detail, Success: true})
}
