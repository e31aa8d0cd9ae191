package main

import (
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
)

// TestGrantCommands: grant, grants and revoke on the real binary, on both
// stores — bad grants refused naming the field, every grant and revoke in
// the audit log.
func TestGrantCommands(t *testing.T) {
	for _, d := range inventorytest.Dialects {
		t.Run(d, func(t *testing.T) {
			db := inventorytest.DSN(t, d)
			mustRun(t, db, "team", "add", "web")
			if out := mustRun(t, db, "grant", "write", "team:web", "--type", "vm", "--where", "owner=$team"); out != "grant 1: write team:web on vm where owner=$team\n" {
				t.Fatalf("grant: %q", out)
			}
			mustRun(t, db, "grant", "read", "anyone", "--type", "vm", "--attr", "owner")
			bad := []struct {
				args []string
				want string
			}{
				{[]string{"grant", "read", "team:wbe", "--type", "vm"}, `no team named "wbe" (add it first: tana team add wbe)`},
				{[]string{"grant", "read", "user:nobody"}, `no user named "nobody"`},
				{[]string{"grant", "mighty", "anyone"}, "level"},
				{[]string{"grant", "read", "everyone"}, `"everyone" is not user:NAME, team:NAME, role:reader|writer|admin or anyone`},
				{[]string{"grant", "read", "anyone", "--type", "vm", "--attr", "colour"}, `vm has no attribute "colour"`},
				{[]string{"grant", "read", "anyone", "--attr", "owner"}, "needs a type"},
				{[]string{"grant", "read", "anyone", "--type", "vm", "--where", "cpus=many"}, "where[0]"},
				{[]string{"revoke", "99"}, "no grant 99"},
				{[]string{"revoke", "one"}, `"one" is not a grant id`},
			}
			for _, c := range bad {
				if _, errOut, code := run(t, db, "", c.args...); code == 0 || !strings.Contains(errOut, c.want) {
					t.Errorf("tana %s: %d %q, want %q", strings.Join(c.args, " "), code, errOut, c.want)
				}
			}
			if out := mustRun(t, db, "grants"); !strings.Contains(out, "1   write team:web on vm where owner=$team") || !strings.Contains(out, "2   read anyone on vm.owner") {
				t.Fatalf("grants:\n%s", out)
			}
			if out := mustRun(t, db, "revoke", "2"); out != "revoked grant 2: read anyone on vm.owner\n" {
				t.Fatalf("revoke: %q", out)
			}
			var recs []inventory.AuditRecord
			if err := json.Unmarshal([]byte(mustRun(t, db, "audit", "--json")), &recs); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range recs {
				if r.Action == "grant" || r.Action == "revoke" {
					got = append(got, r.Actor+" "+r.Action+" "+r.Target+": "+r.Detail)
				}
			}
			want := []string{ // newest first
				"tester revoke grant 2: read anyone on vm.owner",
				"tester grant grant 2: read anyone on vm.owner",
				"tester grant grant 1: write team:web on vm where owner=$team",
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("audit:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// TestAnsibleThroughServerObeysGrants runs the real ansible-inventory over
// `tana inventory` against a real `tana serve`: a team's token lists only
// the VMs its team owns, an admin's every VM.
func TestAnsibleThroughServerObeysGrants(t *testing.T) {
	if _, err := exec.LookPath("ansible-inventory"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("ansible-inventory is not installed in CI")
		}
		t.Skip("SKIPPED LOUDLY: ansible-inventory is not installed")
	}
	db := "sqlite:" + filepath.Join(t.TempDir(), "tana.db")
	items := filepath.Join(t.TempDir(), "items.yaml")
	mustWrite(t, items, []byte(`
- {type: vm, name: web01, attrs: {owner: web, cpus: 2}}
- {type: vm, name: web02, attrs: {owner: web, cpus: 4}}
- {type: vm, name: db01, attrs: {owner: db, cpus: 8}}
`))
	mustRun(t, db, "import", items)
	mustRun(t, db, "team", "add", "web")
	if _, errOut, code := run(t, db, "long-enough-password\n", "user", "add", "alice", "--team", "web", "--password-stdin"); code != 0 {
		t.Fatalf("user add: %s", errOut)
	}
	mustRun(t, db, "grant", "read", "team:web", "--type", "vm", "--where", "owner=$team")
	token := func(args ...string) string {
		return strings.TrimSpace(mustRun(t, db, append([]string{"token", "create"}, args...)...))
	}
	admin, alice := token("--role", "admin", "--name", "root"), token("--user", "alice", "--name", "alice")
	srv := startServe(t, "TANA_DB="+db)
	wrapper, _ := filepath.Abs("../../contrib/tana-inventory")
	hosts := func(tok string) []string {
		cmd := exec.Command("ansible-inventory", "-i", wrapper, "--list")
		cmd.Env = append(os.Environ(), "TANA_BIN="+tanaBin, "TANA_URL="+srv.base, "TANA_TOKEN="+tok,
			"ANSIBLE_HOME="+t.TempDir(), "ANSIBLE_LOCAL_TEMP="+t.TempDir())
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("ansible-inventory: %v", err)
		}
		var inv struct {
			Meta struct {
				Hostvars map[string]map[string]any `json:"hostvars"`
			} `json:"_meta"`
		}
		if err := json.Unmarshal(out, &inv); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return slices.Sorted(maps.Keys(inv.Meta.Hostvars))
	}
	if got, want := hosts(alice), []string{"web01", "web02"}; !slices.Equal(got, want) {
		t.Errorf("team web's hosts: %v, want %v", got, want)
	}
	if got, want := hosts(admin), []string{"db01", "web01", "web02"}; !slices.Equal(got, want) {
		t.Errorf("admin's hosts: %v, want %v", got, want)
	}
}
