package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAllocateCommands(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "tana.db")
	pools := filepath.Join(dir, "pools.yaml")
	if err := os.WriteFile(pools, []byte(`- {type: ip_pool, name: lab-ips, attrs: {cidr: 192.0.2.0/29, zone: lab.example.com.}}
- {type: name_pool, name: lab-names, attrs: {template: "svc{seq:02}"}}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, db, "import", pools)
	if out := mustRun(t, db, "allocate", "lab-names", "--for", "vm", "--key", "t1"); !strings.Contains(out, "granted svc01 from lab-names (key t1) for vm/svc01") {
		t.Fatalf("allocate a name: %s", out)
	}
	out := mustRun(t, db, "allocate", "lab-ips", "--for", "vm/svc01", "--dns", "--key", "t1")
	if !strings.Contains(out, "granted 192.0.2.1 from lab-ips (key t1) for vm/svc01") || !strings.Contains(out, "dns_name svc01.lab.example.com. declared") {
		t.Fatalf("allocate an address: %s", out)
	}
	if out := mustRun(t, db, "allocate", "lab-ips", "--for", "vm/svc01", "--dns", "--key", "t1"); !strings.Contains(out, "already granted 192.0.2.1") {
		t.Fatalf("retry: %s", out)
	}
	if out := mustRun(t, db, "pools"); !strings.Contains(out, "lab-ips") || !strings.Contains(out, "no end") {
		t.Fatalf("pools: %s", out)
	}
	if out := mustRun(t, db, "pools", "lab-ips"); !strings.Contains(out, "192.0.2.1") || !strings.Contains(out, "granted") {
		t.Fatalf("pools lab-ips: %s", out)
	}
	if out := mustRun(t, db, "release", "lab-ips", "--key", "t1", "--reason", "test"); !strings.Contains(out, "released 192.0.2.1 from lab-ips") {
		t.Fatalf("release: %s", out)
	}
	if out := mustRun(t, db, "pools", "lab-ips", "--all"); !strings.Contains(out, "released") {
		t.Fatalf("pools --all: %s", out)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"allocate", "nosuch"}, `not_found: pool: no ip_pool or name_pool named "nosuch"`},
		{[]string{"allocate", "lab-ips", "--count", "9"}, "pool lab-ips (6 values) is exhausted: 9 asked, 5 free"},
		{[]string{"allocate", "lab-names", "--var", "nope"}, `var[0]: "nope" is not NAME=VALUE`},
		{[]string{"allocate", "lab-ips", "--confirm"}, "--confirm needs the --key"},
		{[]string{"allocate", "lab-ips", "--count", "0"}, "count: want at least 1 value, got 0"},
		{[]string{"release", "lab-ips"}, "name the grant's key or the values"},
	} {
		_, errOut, code := run(t, db, "", c.args...)
		if code != 1 || !strings.Contains(errOut, c.want) {
			t.Errorf("tana %s: exit %d, %q; want %q", strings.Join(c.args, " "), code, errOut, c.want)
		}
	}
}
