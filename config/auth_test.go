package config

import (
	"strings"
	"testing"
	"time"
)

func TestParseAuth(t *testing.T) {
	c, err := Parse("tana.yaml", []byte(`
auth:
  sessions: {idle_timeout: 15m, lifetime: 8h, secure_cookie: true}
  ldap:
    url: ldaps://ldap.example.com
    ca_file: /etc/ssl/ldap-ca.pem
    search_base: ou=people,dc=example,dc=com
    search_filter: (uid={user})
    bind_dn: cn=tana,dc=example,dc=com
    bind_password_env: TANA_LDAP_PASSWORD
    group_base: ou=groups,dc=example,dc=com
    group_filter: (member={dn})
    create_teams: true
    timeout: 5s
`))
	if err != nil {
		t.Fatal(err)
	}
	a := c.Auth
	if a.Sessions.IdleTimeout.D() != 15*time.Minute || !a.Sessions.SecureCookie || a.LDAP.BindPasswordEnv != "TANA_LDAP_PASSWORD" || !a.LDAP.CreateTeams || a.LDAP.Timeout.D() != 5*time.Second {
		t.Fatalf("parsed %+v %+v", a, a.LDAP)
	}
}

// Each problem names its field and line; all are reported at once.
func TestAuthProblems(t *testing.T) {
	cases := []struct{ name, yaml, want string }{
		{"short idle", "auth: {sessions: {idle_timeout: 10s}}\n", "tana.yaml:1: auth.sessions.idle_timeout: 10s is too short"},
		{"lifetime under idle", "auth:\n  sessions:\n    idle_timeout: 2h\n    lifetime: 1h\n", "tana.yaml:4: auth.sessions.lifetime: 1h0m0s is shorter than idle_timeout 2h0m0s"},
		{"unknown key", "auth:\n  ldap:\n    url: ldap://x\n    bind_template: x\n", "tana.yaml:4: auth.ldap.bind_template: unknown field"},
		{"no url", "auth: {ldap: {bind_dn_template: 'uid={user}'}}\n", "auth.ldap.url: missing"},
		{"http url", "auth: {ldap: {url: 'http://x', bind_dn_template: 'uid={user}'}}\n", `auth.ldap.url: want ldap://host[:port] or ldaps://host[:port], got "http://x"`},
		{"starttls on ldaps", "auth: {ldap: {url: 'ldaps://x', start_tls: true, bind_dn_template: 'uid={user}'}}\n", "auth.ldap.start_tls: an ldaps:// connection is encrypted already"},
		{"no way to the DN", "auth: {ldap: {url: 'ldap://x'}}\n", "auth.ldap.bind_dn_template: set bind_dn_template, or search_base and search_filter"},
		{"both ways", "auth: {ldap: {url: 'ldap://x', bind_dn_template: 'uid={user}', search_base: b, search_filter: '(uid={user})'}}\n", "auth.ldap.search_filter: set bind_dn_template or search_filter, not both"},
		{"template without user", "auth: {ldap: {url: 'ldap://x', bind_dn_template: 'uid=alice'}}\n", "auth.ldap.bind_dn_template: needs {user}"},
		{"filter without user", "auth: {ldap: {url: 'ldap://x', search_base: b, search_filter: '(uid=alice)'}}\n", "auth.ldap.search_filter: needs {user}"},
		{"search without base", "auth: {ldap: {url: 'ldap://x', search_filter: '(uid={user})'}}\n", "auth.ldap.search_base: a search needs a base DN"},
		{"bind dn without password", "auth: {ldap: {url: 'ldap://x', bind_dn_template: 'uid={user}', bind_dn: 'cn=tana'}}\n", "auth.ldap.bind_dn: bind_dn and bind_password_env go together"},
		{"group filter without placeholder", "auth: {ldap: {url: 'ldap://x', bind_dn_template: 'uid={user}', group_base: g, group_filter: '(cn=x)'}}\n", "auth.ldap.group_filter: needs {dn} or {user}"},
		{"group filter without base", "auth: {ldap: {url: 'ldap://x', bind_dn_template: 'uid={user}', group_filter: '(member={dn})'}}\n", "auth.ldap.group_base: a group filter needs a base DN"},
		{"create teams without groups", "auth: {ldap: {url: 'ldap://x', bind_dn_template: 'uid={user}', create_teams: true}}\n", "auth.ldap.create_teams: teams are made from groups"},
		{"ca and insecure", "auth: {ldap: {url: 'ldaps://x', bind_dn_template: 'uid={user}', ca_file: a, insecure: true}}\n", "auth.ldap.insecure: set ca_file or insecure, not both"},
		{"a password in the file", "auth: {ldap: {url: 'ldap://x', bind_dn_template: 'uid={user}', bind_password: hunter2}}\n", "auth.ldap.bind_password: unknown field"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("tana.yaml", []byte(c.yaml))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
		})
	}
	_, err := Parse("tana.yaml", []byte("auth:\n  sessions: {idle_timeout: 1s}\n  ldap: {url: 'ftp://x'}\n"))
	if err == nil || !strings.Contains(err.Error(), "3 problems") {
		t.Fatalf("every problem at once: %v", err)
	}
}
