package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeConfig writes tana.yaml into a new directory and returns its path.
func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tana.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const badConfig = `listen: 127.0.0.1:8080
sources:
  - name: vc1
    type: vsphere
    url: "not a url"
    password_env: TANA_TEST_UNSET_PASSWORD
  - name: dns1
    type: dns
    server: 192.0.2.53:53
    zones: [example.com.]
    tsig: {name: k., algorithm: hmac-sha999, secret_env: TANA_TEST_UNSET_TSIG}
schedules:
  - name: nightly
    cron: "0 3 * *"
    report: {formats: [md, pdf], webhook: "not a url"}
policies:
  vmm: {observed: apply}
  vm: {delete_after: -5d}
ansible:
  hosts: [vm, nosuchtype]
  keyed_groups: [{key: cluster}, {key: nosuch}]
server:
  max_body_bytes: -1
`

// TestConfigProblemsAllAtOnceBeforeTheDatabase: every problem of issue 20
// is reported in one go, with its line, and no command creates the
// database before the configuration passes.
func TestConfigProblemsAllAtOnceBeforeTheDatabase(t *testing.T) {
	cfg := writeConfig(t, badConfig)
	path := filepath.Join(t.TempDir(), "tana.db")
	db := "sqlite:" + path
	want := []string{
		"tana.yaml:5: sources[0].url",
		"tana.yaml:6: sources[0].password_env: environment variable TANA_TEST_UNSET_PASSWORD is not set",
		`tana.yaml:11: sources[1].tsig.algorithm: unsupported algorithm "hmac-sha999"`,
		"tana.yaml:11: sources[1].tsig.secret_env",
		`tana.yaml:14: schedules[0].cron: bad cron expression "0 3 * *"`,
		`tana.yaml:15: schedules[0].report.formats[1]: unknown report format "pdf"`,
		"tana.yaml:15: schedules[0].report.webhook",
		`tana.yaml:17: policies.vmm: unknown entity type "vmm"`,
		`tana.yaml:18: policies.vm.delete_after: duration "-5d" is negative`,
		`tana.yaml:20: ansible.hosts[1]: unknown entity type "nosuchtype"`,
		`tana.yaml:21: ansible.keyed_groups[1].key: type vm has no attribute "nosuch"`,
		"tana.yaml:23: server.max_body_bytes: must not be negative",
	}
	_, errOut, code := run(t, db, "", "config", "check", cfg)
	if code != 1 || !strings.Contains(errOut, "tana.yaml: 12 problems:") {
		t.Errorf("config check: exit %d\n%s", code, errOut)
	}
	for _, w := range want {
		if !strings.Contains(errOut, w) {
			t.Errorf("config check lacks %q:\n%s", w, errOut)
		}
	}
	for _, args := range [][]string{{"get", "vm", "x"}, {"collect"}, {"serve"}, {"inventory", "--list"}, {"migrate"}} {
		_, errOut, code := run(t, db, "", append([]string{"--config", cfg}, args...)...)
		if code != 1 || !strings.Contains(errOut, `policies.vmm: unknown entity type "vmm"`) {
			t.Errorf("tana %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
		}
		if _, err := os.Stat(path); err == nil {
			t.Fatalf("tana %s created the database before refusing its configuration", strings.Join(args, " "))
		}
	}
}

// TestServeRefusesBeforeTheDatabase: what serve used to refuse only after
// creating and migrating the database (a bad cron, a missing secret, an
// unknown TSIG algorithm, an open non-loopback listen) it now refuses
// before.
func TestServeRefusesBeforeTheDatabase(t *testing.T) {
	cases := []struct{ name, yaml, want string }{
		{"bad cron", "schedules: [{name: n, cron: '0 3 * *'}]\n", "schedules[0].cron"},
		{"missing secret", "sources: [{name: vc1, type: vsphere, url: 'https://vc/sdk', password_env: TANA_TEST_UNSET_PASSWORD}]\n", "TANA_TEST_UNSET_PASSWORD is not set"},
		{"unknown tsig algorithm", "sources: [{name: d, type: dns, server: 192.0.2.1, zones: [example.com.], tsig: {name: k., algorithm: hmac-foo}}]\n", `unsupported algorithm "hmac-foo"`},
		{"open non-loopback", "listen: 0.0.0.0:0\n", "refusing to serve non-loopback 0.0.0.0:0 from a new database"},
		{"webhook secret", "schedules: [{name: n, cron: '@daily', report: {webhook: 'https://hook.example.com/', secret_env: TANA_TEST_UNSET_HOOK}}]\n", "TANA_TEST_UNSET_HOOK is not set"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tana.db")
			_, errOut, code := run(t, "sqlite:"+path, "", "--config", writeConfig(t, c.yaml), "serve")
			if code != 1 || !strings.Contains(errOut, c.want) {
				t.Errorf("serve: exit %d, want an error with %q:\n%s", code, c.want, errOut)
			}
			if _, err := os.Stat(path); err == nil {
				t.Error("serve created the database before refusing")
			}
		})
	}
}

func TestConfigCheckAcceptsAGoodFile(t *testing.T) {
	cfg := writeConfig(t, "listen: 0.0.0.0:8080\nsources: [{name: vc1, type: vsphere, url: vcenter.example.com, password_env: TANA_TEST_UNSET_PASSWORD}]\npolicies: {vm: {observed: apply}}\n")
	db := "sqlite:" + filepath.Join(t.TempDir(), "tana.db")
	mustRun(t, db, "migrate") // the database exists: listen is only noted
	out, errOut, code := run(t, db, "", "config", "check", "--skip-env", cfg)
	if code != 0 || !strings.Contains(out, "tana.yaml: ok (1 sources, 0 schedules") || !strings.Contains(errOut, "not loopback") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
}
