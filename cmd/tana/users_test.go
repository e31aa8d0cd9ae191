package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tana-cmdb/tana/access/ldaptest"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
)

// TestUserCommands drives user, team, token and audit on the real binary,
// on both stores.
func TestUserCommands(t *testing.T) {
	for _, d := range inventorytest.Dialects {
		t.Run(d, func(t *testing.T) {
			db := inventorytest.DSN(t, d)
			mustRun(t, db, "team", "add", "ops")
			mustRun(t, db, "team", "add", "dev", "--ldap-group", "cn=dev,ou=groups,dc=example,dc=com")
			if out, errOut, code := run(t, db, "wonderland\n", "user", "add", "alice", "--role", "writer", "--team", "ops", "--password-stdin"); code != 0 || out != "added local user alice\n" {
				t.Fatalf("user add: %d %q %q", code, out, errOut)
			}
			mustRun(t, db, "user", "add", "bob", "--ldap", "--display", "Bob B.")
			bad := []struct {
				stdin string
				args  []string
				want  string
			}{
				{"", []string{"user", "add", "carol"}, "no terminal to ask for the password on: pipe it in with --password-stdin"},
				{"short\n", []string{"user", "add", "carol", "--password-stdin"}, "password: at least 8 characters"},
				{"long-enough\n", []string{"user", "add", "carol", "--password-stdin", "--team", "nope"}, `team: no team named "nope" (add it first: tana team add nope)`},
				{"long-enough\n", []string{"user", "add", "alice", "--password-stdin"}, `a user named "alice" exists`},
				{"long-enough\n", []string{"user", "add", "carol", "--password-stdin", "--role", "boss"}, `unknown role "boss"`},
				{"long-enough\n", []string{"user", "passwd", "bob", "--password-stdin"}, "logs in with LDAP"},
				{"", []string{"user", "set", "alice"}, "nothing to change"},
				{"", []string{"team", "member", "remove", "dev", "alice"}, "alice is not a member of team dev"},
				{"", []string{"token", "create"}, "a token of no user or team needs a role"},
				{"", []string{"token", "create", "--user", "nobody"}, `no user named "nobody"`},
			}
			for _, c := range bad {
				if _, errOut, code := run(t, db, c.stdin, c.args...); code == 0 || !strings.Contains(errOut, c.want) {
					t.Errorf("tana %s: %d %q, want %q", strings.Join(c.args, " "), code, errOut, c.want)
				}
			}
			if _, errOut, code := run(t, db, "a-new-password\n", "user", "passwd", "alice", "--password-stdin"); code != 0 {
				t.Fatalf("passwd: %s", errOut)
			}
			mustRun(t, db, "user", "set", "bob", "--role", "reader")
			mustRun(t, db, "user", "disable", "bob")
			mustRun(t, db, "team", "member", "add", "dev", "alice")
			out := mustRun(t, db, "user", "list")
			for _, want := range []string{"alice  local   writer  dev,ops  enabled", "bob    ldap    reader  -        disabled  Bob B."} {
				if !strings.Contains(out, want) {
					t.Fatalf("user list lacks %q:\n%s", want, out)
				}
			}
			var users []inventory.User
			if err := json.Unmarshal([]byte(mustRun(t, db, "user", "list", "--json")), &users); err != nil || len(users) != 2 || users[0].PasswordHash != "" {
				t.Fatalf("user list --json: %+v %v", users, err)
			}
			if out := mustRun(t, db, "team", "list"); !strings.Contains(out, "dev   alice    cn=dev,ou=groups,dc=example,dc=com") {
				t.Fatalf("team list:\n%s", out)
			}
			secret := strings.TrimSpace(mustRun(t, db, "token", "create", "--user", "alice", "--name", "alice-cli"))
			if !strings.HasPrefix(secret, "tana_") {
				t.Fatalf("token: %q", secret)
			}
			if out := mustRun(t, db, "token", "list"); !strings.Contains(out, "alice-cli  -     alice  -") {
				t.Fatalf("token list:\n%s", out)
			}
			var recs []inventory.AuditRecord
			if err := json.Unmarshal([]byte(mustRun(t, db, "audit", "--json", "--actor", "tester")), &recs); err != nil {
				t.Fatal(err)
			}
			var actions []string
			for _, r := range recs {
				actions = append(actions, r.Action+" "+r.Target)
			}
			want := "token.create alice-cli,team.member.add dev,user.change bob,user.change bob,user.change alice,user.add bob,team.member.add ops,user.add alice,team.add dev,team.add ops"
			if strings.Join(actions, ",") != want {
				t.Fatalf("audit:\n%s\nwant\n%s", strings.Join(actions, ","), want)
			}
			if out := mustRun(t, db, "audit", "--action", "user.change", "--limit", "1"); !strings.Contains(out, "tester  user.change  bob     ok      -     disabled=true") {
				t.Fatalf("audit table:\n%s", out)
			}
		})
	}
}

// TestServeLDAPLogin wires tana.yaml's auth.ldap through `tana serve` to a
// real slapd over ldaps:// with the test CA and a service account whose
// password is in the environment: a browser-style login gets a session
// whose teams come from the directory's groups.
func TestServeLDAPLogin(t *testing.T) {
	dir := ldaptest.Start(t, ldaptest.Options{})
	tmp := t.TempDir()
	db := "sqlite:" + filepath.Join(tmp, "tana.db")
	mustRun(t, db, "team", "add", "developers", "--ldap-group", "cn=dev,"+ldaptest.Groups)
	cfg := filepath.Join(tmp, "tana.yaml")
	yaml := `auth:
  sessions: {idle_timeout: 10m}
  ldap:
    url: ` + dir.TLSURL + `
    ca_file: ` + dir.CAFile + `
    search_base: ` + ldaptest.People + `
    search_filter: (uid={user})
    bind_dn: ` + ldaptest.ServiceDN + `
    bind_password_env: TANA_TEST_LDAP_PASSWORD
    group_base: ` + ldaptest.Groups + `
`
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	// tana config check finds the missing password and a bad CA file;
	// --skip-env leaves both to the machine that serves.
	badCA := filepath.Join(tmp, "bad.yaml")
	if err := os.WriteFile(badCA, []byte(strings.Replace(yaml, dir.CAFile, filepath.Join(tmp, "nope.pem"), 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := runEnv(t, map[string]string{"TANA_TEST_LDAP_PASSWORD": "x"}, "config", "check", badCA); code != 1 || !strings.Contains(errOut, "bad.yaml:5: auth.ldap.ca_file: open ") {
		t.Fatalf("config check, bad CA file: %d %s", code, errOut)
	}
	if _, errOut, code := runEnv(t, nil, "config", "check", cfg); code != 1 || !strings.Contains(errOut, "auth.ldap.bind_password_env: environment variable TANA_TEST_LDAP_PASSWORD is not set") {
		t.Fatalf("config check: %d %s", code, errOut)
	}
	if out, errOut, code := runEnv(t, nil, "config", "check", "--skip-env", cfg); code != 0 {
		t.Fatalf("config check --skip-env: %d %s %s", code, out, errOut)
	}
	// Without the service account's password serve refuses to start.
	if _, errOut, code := runEnv(t, map[string]string{"TANA_CONFIG": cfg, "TANA_DB": db}, "serve", "--listen", "127.0.0.1:0"); code == 0 || !strings.Contains(errOut, "auth.ldap.bind_password_env: environment variable TANA_TEST_LDAP_PASSWORD is not set") {
		t.Fatalf("serve without the LDAP password: %d %s", code, errOut)
	}
	srv := startServe(t, "TANA_CONFIG="+cfg, "TANA_DB="+db, "TANA_TEST_LDAP_PASSWORD="+ldaptest.ServicePass)
	login := func(user, password string) (*http.Response, string) {
		resp, err := http.Post(srv.base+"/login", "application/json", strings.NewReader(`{"user":"`+user+`","password":"`+password+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, body := login("alice", ldaptest.AlicePassword)
	if resp.StatusCode != 200 || !strings.Contains(body, `"teams":["developers"]`) || !strings.Contains(body, `"source":"ldap"`) {
		t.Fatalf("login: %d %s", resp.StatusCode, body)
	}
	if resp, body := login("alice", "wrong"); resp.StatusCode != 401 {
		t.Fatalf("wrong password: %d %s", resp.StatusCode, body)
	}
	out := mustRun(t, db, "audit", "--action", "login")
	if !strings.Contains(out, "alice  login   alice   FAILED  127.0.0.1  wrong password") || !strings.Contains(out, "source=ldap dn=uid=alice,"+ldaptest.People) {
		t.Fatalf("audit:\n%s", out)
	}
	if out := mustRun(t, db, "user", "list"); !strings.Contains(out, "alice  ldap    -     developers  enabled  Alice Liddell") {
		t.Fatalf("user made at login:\n%s", out)
	}
}
