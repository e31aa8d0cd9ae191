package access_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tana-cmdb/tana/access"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/schema"
)

var root = inventory.By{Actor: "root"}

func newAuth(t *testing.T, s *inventory.Store, ldap *access.LDAPConfig) *access.Authenticator {
	t.Helper()
	a, err := access.New(access.Options{Store: s, LDAP: ldap})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func addUser(t *testing.T, s *inventory.Store, name, role, password string, teams ...string) {
	t.Helper()
	u, err := access.NewLocalUser(name, "", role, password)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(context.Background(), root, u); err != nil {
		t.Fatal(err)
	}
	for _, team := range teams {
		if _, err := s.Team(context.Background(), team); schema.ErrorCode(err) == schema.ENOTFOUND {
			if _, err := s.CreateTeam(context.Background(), root, inventory.Team{Name: team}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.AddTeamMember(context.Background(), root, team, name); err != nil {
			t.Fatal(err)
		}
	}
}

// lastLogin returns the newest login audit record.
func lastLogin(t *testing.T, s *inventory.Store) inventory.AuditRecord {
	t.Helper()
	rs, err := s.Audits(context.Background(), inventory.AuditFilter{Action: inventory.AuditLogin, Limit: 1})
	if err != nil || len(rs) != 1 {
		t.Fatalf("login audit: %v %v", rs, err)
	}
	return rs[0]
}

func reason(err error) string {
	var le *access.LoginError
	if errors.As(err, &le) {
		return le.Reason
	}
	return ""
}

func TestLocalLogin(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		a := newAuth(t, s, nil)
		if open, _ := a.Open(ctx); !open {
			t.Fatal("an empty store is not open")
		}
		addUser(t, s, "alice", "writer", "wonderland", "ops", "dev")
		addUser(t, s, "dave", "", "dave-secret")
		if _, err := s.ChangeUser(ctx, root, "dave", inventory.UserChange{Disabled: new(true)}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateUser(ctx, root, inventory.User{Name: "nopass"}); err != nil {
			t.Fatal(err)
		}
		if open, _ := a.Open(ctx); open {
			t.Fatal("a store with users is open")
		}
		p, err := a.Login(ctx, "alice", "wonderland", "192.0.2.7")
		if err != nil {
			t.Fatal(err)
		}
		want := access.Principal{Kind: "user", Name: "alice", User: "alice", Teams: []string{"dev", "ops"}, Role: "writer", Source: "local"}
		if p.Kind != want.Kind || p.Name != want.Name || !slices.Equal(p.Teams, want.Teams) || p.Role != want.Role || p.Source != want.Source {
			t.Fatalf("principal %+v, want %+v", p, want)
		}
		if r := lastLogin(t, s); !r.Success || r.Actor != "alice" || r.RemoteAddr != "192.0.2.7" || r.Detail != "source=local" {
			t.Fatalf("audit of a good login: %+v", r)
		}
		cases := []struct {
			name, user, password, reason, code string
		}{
			{"wrong password", "alice", "Wonderland", access.ReasonWrongPassword, schema.EUNAUTHORIZED},
			{"empty password", "alice", "", access.ReasonWrongPassword, schema.EUNAUTHORIZED},
			{"unknown user", "mallory", "wonderland", access.ReasonUnknownUser, schema.EUNAUTHORIZED},
			{"name no user can have", "*)(uid=*", "x", access.ReasonUnknownUser, schema.EUNAUTHORIZED},
			{"disabled, right password", "dave", "dave-secret", access.ReasonDisabled, schema.EFORBIDDEN},
			{"disabled, wrong password", "dave", "nope", access.ReasonWrongPassword, schema.EUNAUTHORIZED},
			{"no password set", "nopass", "", access.ReasonNoPassword, schema.EUNAUTHORIZED},
			{"ldap user, no ldap", "eve", "x", access.ReasonLDAPError, schema.EINTERNAL},
		}
		if _, err := s.CreateUser(ctx, root, inventory.User{Name: "eve", Source: inventory.UserLDAP}); err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				p, err := a.Login(ctx, c.user, c.password, "192.0.2.8")
				if p != nil || reason(err) != c.reason || schema.ErrorCode(err) != c.code {
					t.Fatalf("got %+v %v (reason %q), want %s %s", p, err, reason(err), c.code, c.reason)
				}
				// What the person is told does not say whether the user exists.
				if c.code == schema.EUNAUTHORIZED && err.Error() != "wrong user name or password" {
					t.Fatalf("message: %q", err)
				}
				r := lastLogin(t, s)
				if r.Success || r.Target != c.user || !strings.HasPrefix(r.Detail, c.reason) || r.RemoteAddr != "192.0.2.8" {
					t.Fatalf("audit: %+v", r)
				}
			})
		}
	})
}

// Unknown users take as long as known ones: the dummy hash is checked.
func TestLoginTiming(t *testing.T) {
	s := inventorytest.Open(t, "sqlite")
	a := newAuth(t, s, nil)
	addUser(t, s, "alice", "", "wonderland")
	ctx := context.Background()
	measure := func(user string) time.Duration {
		start := time.Now()
		for range 5 {
			_, _ = a.Login(ctx, user, "wrong-password", "")
		}
		return time.Since(start)
	}
	known, unknown := measure("alice"), measure("mallory")
	if unknown < known/3 {
		t.Fatalf("unknown user answered in %v, known in %v: user names can be probed", unknown, known)
	}
}

func TestTokenPrincipal(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		a := newAuth(t, s, nil)
		addUser(t, s, "alice", "reader", "wonderland", "dev", "ops")
		legacy, _, _ := s.CreateToken(ctx, "ci", inventory.RoleWriter)
		mine, _, _ := s.CreateTokenFor(ctx, root, inventory.TokenSpec{Name: "alice-cli", User: "alice"})
		team, _, _ := s.CreateTokenFor(ctx, root, inventory.TokenSpec{Name: "ops-bot", Team: "ops", Role: "reader"})
		cases := []struct {
			secret string
			want   access.Principal
		}{
			{legacy, access.Principal{Kind: "token", Name: "ci", Role: "writer", Source: "token"}},
			{mine, access.Principal{Kind: "token", Name: "alice-cli", User: "alice", Teams: []string{"dev", "ops"}, Source: "token"}},
			{team, access.Principal{Kind: "token", Name: "ops-bot", Teams: []string{"ops"}, Role: "reader", Source: "token"}},
		}
		for _, c := range cases {
			p, err := a.Token(ctx, c.secret, "10.1.1.1")
			if err != nil || p.Kind != c.want.Kind || p.Name != c.want.Name || p.User != c.want.User || p.Role != c.want.Role || !slices.Equal(p.Teams, c.want.Teams) || p.Source != c.want.Source {
				t.Fatalf("%s: %+v %v", c.want.Name, p, err)
			}
		}
		if _, err := a.Token(ctx, "tana_nope", "10.1.1.1"); schema.ErrorCode(err) != schema.EUNAUTHORIZED {
			t.Fatalf("bad token: %v", err)
		}
		if rs, _ := s.Audits(ctx, inventory.AuditFilter{Action: inventory.AuditTokenUse}); len(rs) != 3 {
			t.Fatalf("token uses audited: %+v", rs)
		}
	})
}

func TestSessions(t *testing.T) {
	for _, d := range inventorytest.Dialects {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			clock := inventorytest.NewClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
			s := inventorytest.OpenClocked(t, d, clock)
			a, err := access.New(access.Options{Store: s, Sessions: access.SessionOptions{Idle: 30 * time.Minute, Lifetime: 2 * time.Hour}})
			if err != nil {
				t.Fatal(err)
			}
			addUser(t, s, "alice", "writer", "wonderland", "ops")
			p, err := a.Login(ctx, "alice", "wonderland", "::1")
			if err != nil {
				t.Fatal(err)
			}
			se, err := a.StartSession(ctx, p, "::1")
			if err != nil || se.Secret == "" || se.CSRF == "" || se.Secret == se.CSRF || !se.ExpiresAt.Equal(clock.Now().Add(2*time.Hour)) {
				t.Fatalf("session: %+v %v", se, err)
			}
			got, csrf, err := a.SessionPrincipal(ctx, se.Secret)
			if err != nil || got.Name != "alice" || got.Role != "writer" || !slices.Equal(got.Teams, []string{"ops"}) || csrf != se.CSRF || got.Source != "session" {
				t.Fatalf("session principal: %+v %q %v", got, csrf, err)
			}
			if err := access.CheckCSRF(csrf, se.CSRF); err != nil {
				t.Fatal(err)
			}
			for _, bad := range []string{"", "x", se.Secret} {
				if err := access.CheckCSRF(csrf, bad); schema.ErrorCode(err) != schema.EFORBIDDEN {
					t.Fatalf("CSRF %q: %v", bad, err)
				}
			}
			// Requests every 20 minutes keep it alive, up to its lifetime.
			for range 5 {
				clock.Advance(20 * time.Minute)
				if _, _, err := a.SessionPrincipal(ctx, se.Secret); err != nil {
					t.Fatalf("at %v: %v", clock.Now(), err)
				}
			}
			clock.Advance(20 * time.Minute)
			if _, _, err := a.SessionPrincipal(ctx, se.Secret); err == nil || !strings.Contains(err.Error(), "session expired") {
				t.Fatalf("past its lifetime: %v", err)
			}
			// Idle for 30 minutes: gone.
			se2, _ := a.StartSession(ctx, p, "::1")
			clock.Advance(30 * time.Minute)
			if _, _, err := a.SessionPrincipal(ctx, se2.Secret); schema.ErrorCode(err) != schema.EUNAUTHORIZED || !strings.Contains(err.Error(), "idle") {
				t.Fatalf("idle: %v", err)
			}
			se3, _ := a.StartSession(ctx, p, "::1")
			if err := a.Logout(ctx, se3.Secret, "::1"); err != nil {
				t.Fatal(err)
			}
			if err := a.Logout(ctx, se3.Secret, "::1"); err != nil {
				t.Fatalf("twice: %v", err)
			}
			if _, _, err := a.SessionPrincipal(ctx, se3.Secret); err == nil || !strings.Contains(err.Error(), "ended") {
				t.Fatalf("after logout: %v", err)
			}
			if rs, _ := s.Audits(ctx, inventory.AuditFilter{Action: inventory.AuditLogout}); len(rs) != 1 || rs[0].Actor != "alice" {
				t.Fatalf("logout audit: %+v", rs)
			}
			// Disabling the user ends its sessions at once.
			se4, _ := a.StartSession(ctx, p, "::1")
			if _, err := s.ChangeUser(ctx, root, "alice", inventory.UserChange{Disabled: new(true)}); err != nil {
				t.Fatal(err)
			}
			if _, _, err := a.SessionPrincipal(ctx, se4.Secret); schema.ErrorCode(err) != schema.EUNAUTHORIZED {
				t.Fatalf("disabled user's session: %v", err)
			}
			if _, _, err := a.SessionPrincipal(ctx, "forged"); schema.ErrorCode(err) != schema.EUNAUTHORIZED {
				t.Fatalf("forged: %v", err)
			}
			if _, err := a.StartSession(ctx, &access.Principal{Kind: "token", Name: "ci"}, ""); schema.ErrorCode(err) != schema.EINVALID {
				t.Fatalf("token session: %v", err)
			}
		})
	}
}

// TestLoginThrottle: ten wrong passwords for one user from one address
// stop that address's logins for the user — the right password too —
// for ThrottleWindow; another address still logs in; fifty failures from
// one address stop it for every name; waiting the window out works.
func TestLoginThrottle(t *testing.T) {
	for _, d := range inventorytest.Dialects {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			clock := inventorytest.NewClock(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
			s := inventorytest.OpenClocked(t, d, clock)
			addUser(t, s, "alice", "reader", "correct horse battery")
			addUser(t, s, "bob", "reader", "staple battery horse")
			a := newAuth(t, s, nil)
			reason := func(err error) string {
				var le *access.LoginError
				if errors.As(err, &le) {
					return le.Reason
				}
				return fmt.Sprint(err)
			}
			for i := range access.MaxFailedPerUser {
				if _, err := a.Login(ctx, "alice", "wrong", "192.0.2.1"); reason(err) != access.ReasonWrongPassword {
					t.Fatalf("attempt %d: %v", i, err)
				}
			}
			if _, err := a.Login(ctx, "alice", "correct horse battery", "192.0.2.1"); reason(err) != access.ReasonThrottled || schema.ErrorCode(err) != schema.EFORBIDDEN {
				t.Fatalf("the right password after %d failures: %v", access.MaxFailedPerUser, err)
			}
			if _, err := a.Login(ctx, "alice", "correct horse battery", "192.0.2.2"); err != nil {
				t.Fatalf("another address: %v", err)
			}
			if _, err := a.Login(ctx, "bob", "staple battery horse", "192.0.2.1"); err != nil {
				t.Fatalf("another user from the address: %v", err)
			}
			// Spraying names from one address.
			for i := range access.MaxFailedPerAddr - access.MaxFailedPerUser {
				_, _ = a.Login(ctx, fmt.Sprintf("nobody%02d", i), "guess", "192.0.2.3")
			}
			for i := range access.MaxFailedPerUser {
				_, _ = a.Login(ctx, fmt.Sprintf("other%02d", i), "guess", "192.0.2.3")
			}
			if _, err := a.Login(ctx, "bob", "staple battery horse", "192.0.2.3"); reason(err) != access.ReasonThrottled {
				t.Fatalf("after %d failures from one address: %v", access.MaxFailedPerAddr, err)
			}
			// Throttled attempts do not extend the window.
			clock.Advance(access.ThrottleWindow + time.Second)
			if _, err := a.Login(ctx, "alice", "correct horse battery", "192.0.2.1"); err != nil {
				t.Fatalf("after the window: %v", err)
			}
			recs, err := s.Audits(ctx, inventory.AuditFilter{Actor: "alice", Action: inventory.AuditLogin})
			if err != nil || !slices.ContainsFunc(recs, func(r inventory.AuditRecord) bool { return strings.HasPrefix(r.Detail, "throttled") }) {
				t.Errorf("the throttled login is not in the audit log: %v %+v", err, recs)
			}
		})
	}
}

// TestLoginThrottleConcurrent: guesses sent all at once from one address
// get at most MaxFailedPerUser password checks; the rest are throttled.
func TestLoginThrottleConcurrent(t *testing.T) {
	ctx := context.Background()
	s := inventorytest.Open(t, "sqlite")
	addUser(t, s, "alice", "reader", "correct horse battery")
	a := newAuth(t, s, nil)
	var mu sync.Mutex
	reasons := map[string]int{}
	var wg sync.WaitGroup
	for range 3 * access.MaxFailedPerUser {
		wg.Go(func() {
			_, err := a.Login(ctx, "alice", "guess", "192.0.2.9")
			var le *access.LoginError
			if !errors.As(err, &le) {
				t.Errorf("login: %v", err)
				return
			}
			mu.Lock()
			reasons[le.Reason]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if reasons[access.ReasonWrongPassword] != access.MaxFailedPerUser || reasons[access.ReasonThrottled] != 2*access.MaxFailedPerUser {
		t.Errorf("%d guesses at once: %v, want %d checked and the rest throttled", 3*access.MaxFailedPerUser, reasons, access.MaxFailedPerUser)
	}
}
