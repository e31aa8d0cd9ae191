package config

import (
	"strings"
	"testing"
	"time"
)

const full = `
db: sqlite:tana.db
listen: 127.0.0.1:8080
types: ./types/
sources:
  - name: vc1
    type: vsphere
    url: https://vcenter.example.com/sdk
    username: inventory@vsphere.local
    password_env: TANA_VC1_PASSWORD
    insecure: false
  - name: dns1
    type: dns
    server: 192.0.2.53:53
    zones: [example.com., 2.0.192.in-addr.arpa.]
    tsig: {name: tana-key., algorithm: hmac-sha256, secret_env: TANA_DNS1_TSIG}
schedules:
  - name: nightly-drift
    cron: "0 3 * * *"
    collect: [vc1, dns1]
    report: {formats: [md, json], webhook: https://st2.example.com/api/v1/webhooks/tana}
policies:
  vm: {observed: apply, declared: propose, delete_after: 7d}
  dns_record: {declared: propose, max_deletes: 10}
ansible:
  hosts: [vm]
  host_address: [ip, name]
  keyed_groups: [{key: cluster, prefix: cluster}, {key: power_state}]
`

func TestParseDesignExample(t *testing.T) {
	c, err := Parse("tana.yaml", []byte(full))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Sources) != 2 || c.Sources[1].TSIG.SecretEnv != "TANA_DNS1_TSIG" || c.Policies["vm"].DeleteAfter.D() != 7*24*time.Hour {
		t.Fatalf("parsed %+v", c)
	}
	if c.Policies["dns_record"].MaxDeletes != 10 || len(c.Ansible.KeyedGroups) != 2 {
		t.Fatalf("parsed %+v", c)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ name, yaml, want string }{
		{"unknown key", "lisen: x\n", "line 1: field lisen not found"},
		{"bad source type", "sources: [{name: a, type: ldap}]\n", `sources[0].type: unknown source type "ldap"`},
		{"duplicate source", "sources: [{name: a, type: vsphere, url: x}, {name: a, type: vsphere, url: y}]\n", `sources[1].name: source "a" defined twice`},
		{"dns without zones", "sources: [{name: d, type: dns, server: x}]\n", "sources[0]: a dns source needs server and zones"},
		{"bad zone", "sources: [{name: d, type: dns, server: x, zones: ['bad zone']}]\n", "sources[0].zones[0]"},
		{"schedule unknown source", "schedules: [{name: n, cron: '* * * * *', collect: [nope]}]\n", `schedules[0].collect: unknown source "nope"`},
		{"bad policy", "policies: {vm: {observed: maybe}}\n", "policies.vm.observed: want apply or propose"},
		{"bad duration", "policies: {vm: {stale_after: soon}}\n", `bad duration "soon"`},
		{"pool size not a number", "db: {url: 'sqlite:x.db', max_conns: lots}\n", `line 1: db.max_conns: want a number of connections, got "lots"`},
		{"negative pool size", "db: {url: 'sqlite:x.db', max_conns: -1}\n", "db.max_conns: want at least 1 connection, got -1"},
		{"unknown db key", "db:\n  url: sqlite:x.db\n  max_con: 4\n", "line 3: field max_con not found in db"},
		{"db a list", "db: [a]\n", "line 1: db: want a database URL or {url: …, max_conns: …}"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("tana.yaml", []byte(c.yaml))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
		})
	}
}

func TestDatabaseForms(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       Database
	}{
		{"url alone", "db: postgres://tana@db/tana\n", Database{URL: "postgres://tana@db/tana"}},
		{"mapping", "db:\n  url: postgres://tana@db/tana\n  max_conns: 40\n", Database{URL: "postgres://tana@db/tana", MaxConns: 40}},
		{"pool size alone keeps the default store", "db: {max_conns: 4}\n", Database{URL: "sqlite:tana.db", MaxConns: 4}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Parse("tana.yaml", []byte(c.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.DB != c.want {
				t.Fatalf("db %+v, want %+v", cfg.DB, c.want)
			}
		})
	}
}

func TestEmptyFileIsDefaults(t *testing.T) {
	c, err := Parse("tana.yaml", nil)
	if err != nil || c.DB.URL != "sqlite:tana.db" || c.Listen != "127.0.0.1:8080" {
		t.Fatalf("%+v %v", c, err)
	}
}

func TestSecretNamesTheVariableNotTheValue(t *testing.T) {
	t.Setenv("TANA_TEST_SECRET", "hunter2")
	if v, err := Secret("sources[0].password_env", "TANA_TEST_SECRET"); err != nil || v != "hunter2" {
		t.Fatal(v, err)
	}
	_, err := Secret("sources[0].password_env", "TANA_TEST_MISSING")
	if err == nil || !strings.Contains(err.Error(), "TANA_TEST_MISSING is not set") {
		t.Fatal(err)
	}
}
