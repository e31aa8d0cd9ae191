package main

import (
	"encoding/json"
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
