package access_test

import (
	"context"
	"crypto/tls"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tana-cmdb/tana/access"
	"github.com/tana-cmdb/tana/access/ldaptest"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/schema"
)

// templated binds to uid={user},ou=people,… and reads groupOfNames.
func templated(url string) *access.LDAPConfig {
	return &access.LDAPConfig{URL: url, BindDNTemplate: "uid={user}," + ldaptest.People,
		GroupBase: ldaptest.Groups, GroupFilter: "(&(objectClass=groupOfNames)(member={dn}))", Timeout: 5 * time.Second}
}

// Logins against a real slapd: teams from groups, a wrong password, a
// disabled user, an unknown user — each with its audit row — on both
// stores.
func TestLDAPLogin(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.Options{})
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		// dev maps by a DN in another case than the directory's.
		if _, err := s.CreateTeam(ctx, root, inventory.Team{Name: "developers", LDAPGroup: "CN=Dev,OU=Groups,DC=example,DC=com"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateTeam(ctx, root, inventory.Team{Name: "ops", LDAPGroup: "cn=ops," + ldaptest.Groups}); err != nil {
			t.Fatal(err)
		}
		a := newAuth(t, s, templated(srv.URL))
		p, err := a.Login(ctx, "alice", ldaptest.AlicePassword, "192.0.2.10")
		if err != nil {
			t.Fatal(err)
		}
		if p.Kind != "user" || p.User != "alice" || p.Source != "ldap" || !slices.Equal(p.Teams, []string{"developers", "ops"}) || p.Role != "" {
			t.Fatalf("principal: %+v", p)
		}
		u, err := s.User(ctx, "alice")
		if err != nil || u.Source != inventory.UserLDAP || u.DisplayName != "Alice Liddell" || u.PasswordHash != "" {
			t.Fatalf("user made at first login: %+v %v", u, err)
		}
		if r := lastLogin(t, s); !r.Success || r.Detail != "source=ldap dn=uid=alice,"+ldaptest.People || r.RemoteAddr != "192.0.2.10" {
			t.Fatalf("audit: %+v", r)
		}
		// An administrator gives alice a role; the next login keeps it.
		if _, err := s.ChangeUser(ctx, root, "alice", inventory.UserChange{Role: new("writer")}); err != nil {
			t.Fatal(err)
		}
		if p, err := a.Login(ctx, "alice", ldaptest.AlicePassword, ""); err != nil || p.Role != "writer" {
			t.Fatalf("second login: %+v %v", p, err)
		}
		if _, err := a.Login(ctx, "dave", ldaptest.DavePassword, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ChangeUser(ctx, root, "dave", inventory.UserChange{Disabled: new(true)}); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name, user, password, reason, code string
		}{
			{"wrong password", "alice", "not-wonderland", access.ReasonWrongPassword, schema.EUNAUTHORIZED},
			// An empty password would be an unauthenticated bind, which
			// the directory accepts.
			{"empty password", "alice", "", access.ReasonWrongPassword, schema.EUNAUTHORIZED},
			{"unknown user", "mallory", "whatever", access.ReasonUnknownUser, schema.EUNAUTHORIZED},
			{"filter injection", "alice)(uid=*", "x", access.ReasonUnknownUser, schema.EUNAUTHORIZED},
			{"DN injection", "alice,ou=people", "x", access.ReasonUnknownUser, schema.EUNAUTHORIZED},
			{"disabled, right password", "dave", ldaptest.DavePassword, access.ReasonDisabled, schema.EFORBIDDEN},
			{"disabled, wrong password", "dave", "nope", access.ReasonWrongPassword, schema.EUNAUTHORIZED},
			// The directory matches names in any case: so does tana.
			{"disabled, in capitals", "DAVE", ldaptest.DavePassword, access.ReasonDisabled, schema.EFORBIDDEN},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				p, err := a.Login(ctx, c.user, c.password, "192.0.2.11")
				if p != nil || reason(err) != c.reason || schema.ErrorCode(err) != c.code {
					t.Fatalf("got %+v %v (reason %q), want %s %s", p, err, reason(err), c.code, c.reason)
				}
				r := lastLogin(t, s)
				if r.Success || r.Actor != c.user || !strings.HasPrefix(r.Detail, c.reason) || r.RemoteAddr != "192.0.2.11" {
					t.Fatalf("audit: %+v", r)
				}
			})
		}
		if u, _ := s.User(ctx, "mallory"); u != nil {
			t.Fatal("a failed login made a user")
		}
		if p, err := a.Login(ctx, "Alice", ldaptest.AlicePassword, ""); err != nil || p.User != "alice" || p.Role != "writer" {
			t.Fatalf("Alice is alice: %+v %v", p, err)
		}
		if us, _ := s.Users(ctx); len(us) != 2 {
			t.Fatalf("users: %+v", us)
		}
	})
}

// Group changes in the directory reach tana at the next login; with
// CreateTeams a new group becomes a team. The user is found by a search
// as the service account, over ldaps:// with the test CA.
func TestLDAPSearchGroupsAndTLS(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.Options{})
	s := inventorytest.Open(t, "sqlite")
	ctx := context.Background()
	cfg := &access.LDAPConfig{URL: srv.TLSURL, TLS: srv.TLS, SearchBase: ldaptest.People, SearchFilter: "(&(objectClass=inetOrgPerson)(uid={user}))",
		BindDN: ldaptest.ServiceDN, BindPassword: ldaptest.ServicePass, GroupBase: ldaptest.Groups, CreateTeams: true, Timeout: 5 * time.Second}
	a := newAuth(t, s, cfg)
	p, err := a.Login(ctx, "alice", ldaptest.AlicePassword, "")
	if err != nil || !slices.Equal(p.Teams, []string{"dev", "ops"}) {
		t.Fatalf("login: %+v %v", p, err)
	}
	if team, _ := s.Team(ctx, "dev"); team.LDAPGroup != "cn=dev,"+ldaptest.Groups {
		t.Fatalf("team made for a group: %+v", team)
	}
	// alice leaves ops (bob takes her place) and joins qa.
	srv.Modify(t, "dn: cn=ops,"+ldaptest.Groups+"\nchangetype: modify\nreplace: member\nmember: uid=bob,"+ldaptest.People+"\n\n"+
		"dn: cn=qa,"+ldaptest.Groups+"\nchangetype: modify\nadd: member\nmember: uid=alice,"+ldaptest.People+"\n")
	p, err = a.Login(ctx, "alice", ldaptest.AlicePassword, "")
	if err != nil || !slices.Equal(p.Teams, []string{"dev", "qa"}) {
		t.Fatalf("after the directory changed: %+v %v", p, err)
	}
	// A search that finds no one is an unknown user, not a wrong password.
	if _, err := a.Login(ctx, "mallory", "x", ""); reason(err) != access.ReasonUnknownUser {
		t.Fatalf("unknown: %v", err)
	}
	// StartTLS on the plain port, too.
	cfg2 := *cfg
	cfg2.URL, cfg2.StartTLS = srv.URL, true
	if _, err := newAuth(t, s, &cfg2).Login(ctx, "bob", ldaptest.BobPassword, ""); err != nil {
		t.Fatalf("StartTLS: %v", err)
	}
}

// A directory that cannot be reached, or not trusted, refuses the login
// with its own reason and the error in the audit row.
func TestLDAPUnavailable(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.Options{})
	s := inventorytest.Open(t, "sqlite")
	ctx := context.Background()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "ldap://" + l.Addr().String()
	l.Close()
	untrusted := templated(srv.TLSURL)
	untrusted.TLS = &tls.Config{ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12} // system roots only
	wrongService := &access.LDAPConfig{URL: srv.URL, SearchBase: ldaptest.People, SearchFilter: "(uid={user})",
		BindDN: ldaptest.ServiceDN, BindPassword: "wrong", Timeout: 5 * time.Second}
	for name, cfg := range map[string]*access.LDAPConfig{"closed port": templated(closed), "untrusted certificate": untrusted, "wrong service password": wrongService} {
		t.Run(name, func(t *testing.T) {
			_, err := newAuth(t, s, cfg).Login(ctx, "alice", ldaptest.AlicePassword, "")
			if reason(err) != access.ReasonLDAPError || !strings.Contains(err.Error(), "directory (LDAP) could not be asked") {
				t.Fatalf("got %v (reason %q)", err, reason(err))
			}
			if r := lastLogin(t, s); r.Success || !strings.HasPrefix(r.Detail, "ldap error ") || len(r.Detail) < 20 {
				t.Fatalf("audit: %+v", r)
			}
		})
	}
}

// A local user is checked locally even when the directory knows the
// name: LDAP never overrides a password tana keeps.
func TestLocalUserBeforeLDAP(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.Options{})
	s := inventorytest.Open(t, "sqlite")
	ctx := context.Background()
	addUser(t, s, "carol", "admin", "local-password")
	a := newAuth(t, s, templated(srv.URL))
	if _, err := a.Login(ctx, "carol", ldaptest.CarolPassword, ""); reason(err) != access.ReasonWrongPassword {
		t.Fatalf("directory password of a local user: %v", err)
	}
	if p, err := a.Login(ctx, "carol", "local-password", ""); err != nil || p.Source != "local" {
		t.Fatalf("local password: %+v %v", p, err)
	}
}
