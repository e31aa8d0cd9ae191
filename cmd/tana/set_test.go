package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestSetAttributes(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "tana.db")
	src, _ := filepath.Abs("testdata/import.yaml")
	mustRun(t, db, "import", src)
	out := mustRun(t, db, "set", "vm", "web01", "dns_name=WEB01.Example.com", "cpus=8", "tags=[web, prod]", "--reason", "settle web01")
	if !strings.Contains(out, "vm web01: version") {
		t.Fatalf("set: %s", out)
	}
	got := mustRun(t, db, "get", "vm", "web01", "--json")
	for _, want := range []string{`"dns_name": "web01.example.com."`, `"cpus": 8`, `"web"`, `"prod"`} {
		if !strings.Contains(got, want) {
			t.Errorf("after set, get lacks %s:\n%s", want, got)
		}
	}
	if h := mustRun(t, db, "history", "vm", "web01"); !strings.Contains(h, "(settle web01)") {
		t.Errorf("history lacks the reason:\n%s", h)
	}
	mustRun(t, db, "set", "vm", "web01", "tags=")
	if got := mustRun(t, db, "get", "vm", "web01", "--json"); strings.Contains(got, `"tags"`) {
		t.Errorf("tags= did not remove tags:\n%s", got)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"set", "vm", "web01", "cpus"}, `"cpus" is not ATTR=VALUE`},
		{[]string{"set", "vm", "web01", "cpus=two"}, "cpus"},
		{[]string{"set", "vm", "web01", "owner={a: 1}"}, "owner: "},
		{[]string{"set", "vm", "nosuch", "cpus=1"}, "nosuch"},
		{[]string{"set", "vm", "web01", "cpus=1", "--version", "1"}, "version"},
	} {
		_, errOut, code := run(t, db, "", c.args...)
		if code != 1 || !strings.Contains(errOut, c.want) {
			t.Errorf("tana %s: exit %d, stderr %q, want it to name %q", strings.Join(c.args, " "), code, errOut, c.want)
		}
	}
}
