package inventory_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/schema"
)

var admin = inventory.By{Actor: "root", RemoteAddr: "192.0.2.1"}

func ptr[T any](v T) *T { return &v }

func mustUser(t *testing.T, s *inventory.Store, u inventory.User) *inventory.User {
	t.Helper()
	out, err := s.CreateUser(context.Background(), admin, u)
	if err != nil {
		t.Fatalf("create user %s: %v", u.Name, err)
	}
	return out
}

func mustTeam(t *testing.T, s *inventory.Store, name, group string) {
	t.Helper()
	if _, err := s.CreateTeam(context.Background(), admin, inventory.Team{Name: name, LDAPGroup: group}); err != nil {
		t.Fatalf("create team %s: %v", name, err)
	}
}

// lastAudit returns the newest audit record.
func lastAudit(t *testing.T, s *inventory.Store) inventory.AuditRecord {
	t.Helper()
	rs, err := s.Audits(context.Background(), inventory.AuditFilter{Limit: 1})
	if err != nil || len(rs) != 1 {
		t.Fatalf("audits: %v %v", rs, err)
	}
	return rs[0]
}

func TestUsers(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		has, err := s.HasCredentials(ctx)
		if err != nil || has {
			t.Fatalf("empty store has credentials: %v %v", has, err)
		}
		u := mustUser(t, s, inventory.User{Name: "alice", DisplayName: "Alice A.", PasswordHash: "$argon2id$x", Role: "writer"})
		if u.Source != inventory.UserLocal || u.ID == 0 || u.CreatedAt.IsZero() {
			t.Fatalf("created: %+v", u)
		}
		if has, _ := s.HasCredentials(ctx); !has {
			t.Fatal("a user is a credential: the server must stop being open")
		}
		if a := lastAudit(t, s); a.Action != inventory.AuditUserAdd || a.Target != "alice" || a.Actor != "root" || a.RemoteAddr != "192.0.2.1" || !a.Success {
			t.Fatalf("audit: %+v", a)
		}
		bad := []struct {
			name  string
			u     inventory.User
			code  string
			field string
		}{
			{"duplicate", inventory.User{Name: "alice"}, schema.ECONFLICT, "name"},
			{"empty name", inventory.User{}, schema.EINVALID, "name"},
			{"filter characters", inventory.User{Name: "a*)(uid=*"}, schema.EINVALID, "name"},
			{"leading dot", inventory.User{Name: ".x"}, schema.EINVALID, "name"},
			{"too long", inventory.User{Name: strings.Repeat("a", 65)}, schema.EINVALID, "name"},
			{"bad role", inventory.User{Name: "bob", Role: "boss"}, schema.EINVALID, "role"},
			{"bad source", inventory.User{Name: "bob", Source: "kerberos"}, schema.EINVALID, "source"},
			{"ldap with a hash", inventory.User{Name: "bob", Source: "ldap", PasswordHash: "x"}, schema.EINVALID, "password"},
			{"ldap in capitals", inventory.User{Name: "Bob", Source: "ldap"}, schema.EINVALID, "name"},
		}
		for _, c := range bad {
			_, err := s.CreateUser(ctx, admin, c.u)
			var se *schema.Error
			if schema.ErrorCode(err) != c.code || !asSchema(err, &se) || se.Field != c.field {
				t.Errorf("%s: %v, want %s on %s", c.name, err, c.code, c.field)
			}
		}
		if us, _ := s.Users(ctx); len(us) != 1 {
			t.Fatalf("bad users were stored: %+v", us)
		}

		got, err := s.ChangeUser(ctx, admin, "alice", inventory.UserChange{Disabled: ptr(true), Role: ptr("reader")})
		if err != nil || !got.Disabled || got.Role != "reader" || got.PasswordHash != "$argon2id$x" {
			t.Fatalf("change: %+v %v", got, err)
		}
		if a := lastAudit(t, s); a.Action != inventory.AuditUserChange || !strings.Contains(a.Detail, "disabled=true") || strings.Contains(a.Detail, "argon") {
			t.Fatalf("change audit: %+v", a)
		}
		if _, err := s.ChangeUser(ctx, admin, "alice", inventory.UserChange{Role: ptr("boss")}); schema.ErrorCode(err) != schema.EINVALID {
			t.Fatalf("bad role change: %v", err)
		}
		if u, _ := s.User(ctx, "alice"); u.Role != "reader" {
			t.Fatalf("a refused change changed the role: %+v", u)
		}
		if _, err := s.User(ctx, "nobody"); schema.ErrorCode(err) != schema.ENOTFOUND {
			t.Fatalf("unknown user: %v", err)
		}
	})
}

func asSchema(err error, se **schema.Error) bool {
	e, ok := err.(*schema.Error)
	*se = e
	return ok
}

func TestTeams(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		mustUser(t, s, inventory.User{Name: "alice"})
		mustUser(t, s, inventory.User{Name: "bob"})
		mustTeam(t, s, "ops", "")
		mustTeam(t, s, "dev", "CN=Dev,OU=Groups,DC=Example,DC=Com")
		if _, err := s.CreateTeam(ctx, admin, inventory.Team{Name: "ops"}); schema.ErrorCode(err) != schema.ECONFLICT {
			t.Fatalf("duplicate team: %v", err)
		}
		if err := s.AddTeamMember(ctx, admin, "ops", "alice"); err != nil {
			t.Fatal(err)
		}
		if err := s.AddTeamMember(ctx, admin, "ops", "alice"); schema.ErrorCode(err) != schema.ECONFLICT {
			t.Fatalf("twice: %v", err)
		}
		for _, c := range [][2]string{{"nope", "alice"}, {"ops", "nobody"}} {
			if err := s.AddTeamMember(ctx, admin, c[0], c[1]); schema.ErrorCode(err) != schema.ENOTFOUND {
				t.Fatalf("add %v: %v", c, err)
			}
		}
		// LDAP: alice is in the dev group; a group no team maps is made a
		// team only when asked, and never takes a team's name over.
		groups := []inventory.LDAPGroup{{DN: "cn=dev,ou=groups,dc=example,dc=com", Name: "dev"}, {DN: "cn=ops,ou=groups,dc=example,dc=com", Name: "ops"}, {DN: "cn=qa,ou=groups,dc=example,dc=com", Name: "qa"}}
		teams, err := s.SyncLDAPTeams(ctx, admin, "alice", groups, false)
		if err != nil || !slices.Equal(teams, []string{"dev", "ops"}) {
			t.Fatalf("sync: %v %v", teams, err)
		}
		teams, err = s.SyncLDAPTeams(ctx, admin, "alice", groups, true)
		if err != nil || !slices.Equal(teams, []string{"dev", "ops", "qa"}) {
			t.Fatalf("sync with create: %v %v", teams, err)
		}
		if ops, _ := s.Team(ctx, "ops"); ops.LDAPGroup != "" {
			t.Fatalf("ops was taken over by a group: %+v", ops)
		}
		// Left the dev group: the LDAP membership goes, the local one stays.
		teams, err = s.SyncLDAPTeams(ctx, admin, "alice", groups[1:2], false)
		if err != nil || !slices.Equal(teams, []string{"ops"}) {
			t.Fatalf("after leaving: %v %v", teams, err)
		}
		if a := lastAudit(t, s); a.Action != inventory.AuditLDAPTeamsSync || a.Detail != "joined= left=dev,qa" {
			t.Fatalf("sync audit: %+v", a)
		}
		if err := s.AddTeamMember(ctx, admin, "dev", "bob"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SyncLDAPTeams(ctx, admin, "bob", groups[:1], false); err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveTeamMember(ctx, admin, "dev", "bob"); err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveTeamMember(ctx, admin, "dev", "bob"); schema.ErrorCode(err) != schema.EINVALID || !strings.Contains(err.Error(), "through LDAP group") {
			t.Fatalf("remove an LDAP membership: %v", err)
		}
		if err := s.RemoveTeamMember(ctx, admin, "ops", "bob"); schema.ErrorCode(err) != schema.ENOTFOUND {
			t.Fatalf("remove a non-member: %v", err)
		}
		ts, err := s.Teams(ctx)
		if err != nil || len(ts) != 3 || !slices.Equal(ts[0].Members, []string{"bob"}) || !slices.Equal(ts[1].Members, []string{"alice"}) || len(ts[2].Members) != 0 {
			t.Fatalf("teams: %+v %v", ts, err)
		}
		if us, _ := s.Users(ctx); !slices.Equal(us[0].Teams, []string{"ops"}) || !slices.Equal(us[1].Teams, []string{"dev"}) {
			t.Fatalf("users' teams: %+v", us)
		}
		if got, _ := s.UserTeams(ctx, "bob"); !slices.Equal(got, []string{"dev"}) {
			t.Fatalf("UserTeams: %v", got)
		}
	})
}

func TestTokenOwners(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		mustUser(t, s, inventory.User{Name: "alice"})
		mustTeam(t, s, "ops", "")
		old, _, err := s.CreateToken(ctx, "ci", inventory.RoleWriter)
		if err != nil {
			t.Fatal(err)
		}
		mine, _, err := s.CreateTokenFor(ctx, admin, inventory.TokenSpec{Name: "alice-laptop", User: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		theirs, _, err := s.CreateTokenFor(ctx, admin, inventory.TokenSpec{Name: "ops-bot", Role: "reader", Team: "ops"})
		if err != nil {
			t.Fatal(err)
		}
		bad := []inventory.TokenSpec{
			{Name: "x", Role: "reader", User: "alice", Team: "ops"},
			{Name: "x"},
			{Name: "x", User: "nobody"},
			{Name: "x", Team: "nobody"},
			{Name: "alice-laptop", User: "alice"},
		}
		for _, sp := range bad {
			if _, _, err := s.CreateTokenFor(ctx, admin, sp); err == nil {
				t.Errorf("created %+v", sp)
			}
		}
		want := map[string][3]string{old: {"ci", "writer", ""}, mine: {"alice-laptop", "", "alice"}, theirs: {"ops-bot", "reader", ""}}
		for secret, w := range want {
			tok, err := s.Authenticate(ctx, secret)
			if err != nil || tok.Name != w[0] || tok.Role != w[1] || tok.User != w[2] {
				t.Fatalf("authenticate %s: %+v %v", w[0], tok, err)
			}
		}
		if tok, _ := s.Authenticate(ctx, theirs); tok.Team != "ops" {
			t.Fatalf("team token: %+v", tok)
		}
		// A disabled user's tokens stop working, and work again after.
		if _, err := s.ChangeUser(ctx, admin, "alice", inventory.UserChange{Disabled: ptr(true)}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, mine); schema.ErrorCode(err) != schema.EUNAUTHORIZED || !strings.Contains(err.Error(), "disabled") {
			t.Fatalf("disabled user's token: %v", err)
		}
		if _, err := s.ChangeUser(ctx, admin, "alice", inventory.UserChange{Disabled: ptr(false)}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, mine); err != nil {
			t.Fatal(err)
		}
		ts, err := s.Tokens(ctx)
		if err != nil || len(ts) != 3 || ts[0].User != "alice" || ts[2].Team != "ops" {
			t.Fatalf("tokens: %+v %v", ts, err)
		}
		if err := s.RevokeTokenBy(ctx, admin, "ops-bot"); err != nil {
			t.Fatal(err)
		}
		if a := lastAudit(t, s); a.Action != inventory.AuditTokenRevoke || a.Target != "ops-bot" {
			t.Fatalf("revoke audit: %+v", a)
		}
	})
}

// The token-use rule: audited on the first use from an address, on a use
// from another address, and an hour after the last audited use; never in
// between, so a busy client costs no write per request.
func TestTokenUseAudit(t *testing.T) {
	for _, d := range inventorytest.Dialects {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			clock := inventorytest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
			s := inventorytest.OpenClocked(t, d, clock)
			secret, _, err := s.CreateToken(ctx, "ci", inventory.RoleReader)
			if err != nil {
				t.Fatal(err)
			}
			use := func(addr string) bool {
				t.Helper()
				tok, err := s.Authenticate(ctx, secret)
				if err != nil {
					t.Fatal(err)
				}
				wrote, err := s.NoteTokenUse(ctx, tok, addr)
				if err != nil {
					t.Fatal(err)
				}
				return wrote
			}
			steps := []struct {
				advance time.Duration
				addr    string
				audited bool
			}{
				{0, "10.0.0.1", true},
				{time.Minute, "10.0.0.1", false},
				{time.Minute, "10.0.0.2", true}, // another address
				{time.Minute, "10.0.0.2", false},
				{58 * time.Minute, "10.0.0.2", false}, // 59 minutes after the audited use
				{time.Minute, "10.0.0.2", true},       // an hour after it
			}
			for i, st := range steps {
				clock.Advance(st.advance)
				if got := use(st.addr); got != st.audited {
					t.Fatalf("step %d (%s): audited %v, want %v", i, st.addr, got, st.audited)
				}
			}
			rs, err := s.Audits(ctx, inventory.AuditFilter{Action: inventory.AuditTokenUse})
			if err != nil || len(rs) != 3 || rs[0].RemoteAddr != "10.0.0.2" || rs[2].RemoteAddr != "10.0.0.1" || rs[0].Actor != "ci" {
				t.Fatalf("token use audit: %+v %v", rs, err)
			}
			ts, _ := s.Tokens(ctx)
			if ts[0].LastUsedFrom != "10.0.0.2" || !ts[0].LastUsedAt.Equal(clock.Now()) {
				t.Fatalf("last use: %+v", ts[0])
			}
			// Many requests at once from a new address: one audit row.
			clock.Advance(time.Minute)
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					tok, err := s.Authenticate(ctx, secret)
					if err == nil {
						_, err = s.NoteTokenUse(ctx, tok, "10.0.0.3")
					}
					if err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if rs, _ := s.Audits(ctx, inventory.AuditFilter{Action: inventory.AuditTokenUse, Since: clock.Now()}); len(rs) != 1 {
				t.Fatalf("concurrent first uses wrote %d audit rows", len(rs))
			}
		})
	}
}

func TestSessions(t *testing.T) {
	for _, d := range inventorytest.Dialects {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			clock := inventorytest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
			s := inventorytest.OpenClocked(t, d, clock)
			mustUser(t, s, inventory.User{Name: "alice", Role: "writer"})
			n := inventory.NewSession{Hash: "h1", User: "alice", CSRF: "c1", RemoteAddr: "::1", Idle: 30 * time.Minute, Lifetime: 12 * time.Hour}
			if _, err := s.CreateSession(ctx, n); err != nil {
				t.Fatal(err)
			}
			se, err := s.SessionByHash(ctx, "h1")
			if err != nil || se.User != "alice" || se.UserRole != "writer" || se.CSRF != "c1" || se.Idle != 30*time.Minute || se.Live(clock.Now()) != "" {
				t.Fatalf("session: %+v %v", se, err)
			}
			if why := se.Live(clock.Now().Add(30 * time.Minute)); why != "idle" {
				t.Fatalf("after 30 idle minutes: %q", why)
			}
			clock.Advance(20 * time.Minute)
			if err := s.TouchSession(ctx, se.ID, clock.Now()); err != nil {
				t.Fatal(err)
			}
			se, _ = s.SessionByHash(ctx, "h1")
			if why := se.Live(clock.Now().Add(29 * time.Minute)); why != "" {
				t.Fatalf("touched session: %q", why)
			}
			if why := se.Live(se.ExpiresAt); why != "expired" {
				t.Fatalf("at its end: %q", why)
			}
			if _, err := s.SessionByHash(ctx, "nope"); schema.ErrorCode(err) != schema.EUNAUTHORIZED {
				t.Fatalf("unknown session: %v", err)
			}
			// A new password ends the user's sessions.
			if _, err := s.ChangeUser(ctx, admin, "alice", inventory.UserChange{PasswordHash: ptr("$argon2id$y")}); err != nil {
				t.Fatal(err)
			}
			if se, _ := s.SessionByHash(ctx, "h1"); se.Live(clock.Now()) != "ended" {
				t.Fatalf("session after a password change: %+v", se)
			}
			n.Hash = "h2"
			se2, err := s.CreateSession(ctx, n)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.EndSession(ctx, se2.ID); err != nil {
				t.Fatal(err)
			}
			if se, _ := s.SessionByHash(ctx, "h2"); se.Live(clock.Now()) != "ended" {
				t.Fatalf("logged out: %+v", se)
			}
			// Expired a day ago: the row goes at the next login.
			clock.Advance(37 * time.Hour)
			n.Hash = "h3"
			if _, err := s.CreateSession(ctx, n); err != nil {
				t.Fatal(err)
			}
			if _, err := s.SessionByHash(ctx, "h1"); schema.ErrorCode(err) != schema.EUNAUTHORIZED {
				t.Fatalf("old session kept: %v", err)
			}
		})
	}
}

func TestAudits(t *testing.T) {
	for _, d := range inventorytest.Dialects {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			clock := inventorytest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
			s := inventorytest.OpenClocked(t, d, clock)
			for i, a := range []string{"alice", "bob", "alice", "carol"} {
				ok := i != 1
				if err := s.Audit(ctx, inventory.AuditRecord{Actor: a, Action: inventory.AuditLogin, Target: a, Detail: "d", RemoteAddr: "::1", Success: ok}); err != nil {
					t.Fatal(err)
				}
				clock.Advance(time.Hour)
			}
			if err := s.Audit(ctx, inventory.AuditRecord{Actor: "x"}); schema.ErrorCode(err) != schema.EINVALID {
				t.Fatalf("no action: %v", err)
			}
			long := strings.Repeat("é", 1000)
			if err := s.Audit(ctx, inventory.AuditRecord{Actor: long, Action: "grant"}); err != nil {
				t.Fatal(err)
			}
			if a := lastAudit(t, s); len(a.Actor) > 1010 || !strings.HasSuffix(a.Actor, "é…") {
				t.Fatalf("long actor kept whole or cut mid-rune: %d bytes", len(a.Actor))
			}
			start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			cases := []struct {
				name string
				f    inventory.AuditFilter
				want []string
			}{
				{"all, newest first", inventory.AuditFilter{Action: inventory.AuditLogin}, []string{"carol", "alice", "bob", "alice"}},
				{"by actor", inventory.AuditFilter{Actor: "alice"}, []string{"alice", "alice"}},
				{"since", inventory.AuditFilter{Since: start.Add(2 * time.Hour), Action: inventory.AuditLogin}, []string{"carol", "alice"}},
				{"until", inventory.AuditFilter{Until: start.Add(time.Hour)}, []string{"alice"}},
				{"limit", inventory.AuditFilter{Limit: 2, Action: inventory.AuditLogin}, []string{"carol", "alice"}},
			}
			for _, c := range cases {
				rs, err := s.Audits(ctx, c.f)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, r := range rs {
					got = append(got, r.Actor)
				}
				if !slices.Equal(got, c.want) {
					t.Errorf("%s: %v, want %v", c.name, got, c.want)
				}
			}
			rs, _ := s.Audits(ctx, inventory.AuditFilter{Action: inventory.AuditLogin, Limit: 2})
			page, _ := s.Audits(ctx, inventory.AuditFilter{Action: inventory.AuditLogin, Before: rs[1].ID})
			if len(page) != 2 || page[0].Actor != "bob" || page[0].Success || !page[0].At.Equal(start.Add(time.Hour)) {
				t.Fatalf("next page: %+v", page)
			}
		})
	}
}
