package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tana-cmdb/tana/inventory/inventorytest"
)

// tanaBin is the real binary, built once for the end-to-end tests.
var tanaBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tana-bin")
	if err != nil {
		panic(err)
	}
	tanaBin = filepath.Join(dir, "tana")
	if out, err := exec.Command("go", "build", "-o", tanaBin, ".").CombinedOutput(); err != nil {
		panic("build tana: " + err.Error() + "\n" + string(out))
	}
	code := m.Run()
	_ = os.RemoveAll(dir) // a temporary directory: litter at worst
	os.Exit(code)
}

// run executes the binary with TANA_DB=db and returns stdout, stderr and
// the exit code.
func run(t *testing.T, db, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(tanaBin, args...)
	cmd.Env = append(os.Environ(), "TANA_DB="+db, "TANA_ACTOR=tester", "TANA_CONFIG=")
	cmd.Dir = t.TempDir()
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// mustWrite writes a test's input file.
func mustWrite(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func mustRun(t *testing.T, db string, args ...string) string {
	t.Helper()
	out, errOut, code := run(t, db, "", args...)
	if code != 0 {
		t.Fatalf("tana %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func TestImportExportRoundTrip(t *testing.T) {
	for _, d := range inventorytest.Dialects {
		t.Run(d, func(t *testing.T) {
			src, _ := filepath.Abs("testdata/import.yaml")
			db1 := inventorytest.DSN(t, d)
			mustRun(t, db1, "import", src)
			for _, format := range []string{"yaml", "json"} {
				first := mustRun(t, db1, "export", "--format", format)
				file := filepath.Join(t.TempDir(), "export."+format)
				mustWrite(t, file, []byte(first))
				fresh := inventorytest.DSN(t, d)
				mustRun(t, fresh, "import", file)
				second := mustRun(t, fresh, "export", "--format", format)
				if !strings.Contains(first, "<nightly> &") {
					t.Errorf("%s export escapes <, > or &:\n%s", format, first)
				}
				if first != second {
					t.Fatalf("%s round trip differs:\n--- first\n%s\n--- second\n%s", format, first, second)
				}
			}
			// Re-importing an export changes nothing.
			exp := filepath.Join(t.TempDir(), "e.yaml")
			mustWrite(t, exp, []byte(mustRun(t, db1, "export")))
			out := mustRun(t, db1, "import", exp)
			if !strings.Contains(out, "0 created, 0 changed, 5 unchanged") {
				t.Errorf("re-import: %s", out)
			}
		})
	}
}

func TestImportIsAtomicAndNamesTheField(t *testing.T) {
	db := inventorytest.DSN(t, "sqlite")
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	mustWrite(t, bad, []byte(`
- {type: vm, name: ok1, attrs: {cpus: 2}}
- {type: vm, name: bad, attrs: {cpus: two}}
`))
	_, errOut, code := run(t, db, "", "import", bad)
	if code != 1 || !strings.Contains(errOut, "items[1].attrs.cpus") || !strings.Contains(errOut, "nothing was written") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if out := mustRun(t, db, "export"); strings.TrimSpace(out) != "[]" {
		t.Fatalf("a failed import wrote: %s", out)
	}
	malformed := filepath.Join(t.TempDir(), "m.yaml")
	mustWrite(t, malformed, []byte("- type: vm\n  nme: x\n"))
	if _, errOut, code := run(t, db, "", "import", malformed); code != 1 || !strings.Contains(errOut, "line 2") || !strings.Contains(errOut, "nme") {
		t.Fatalf("malformed: exit %d %q", code, errOut)
	}
}

func TestDryRunShowsChangesAndWritesNothing(t *testing.T) {
	db := inventorytest.DSN(t, "sqlite")
	src, _ := filepath.Abs("testdata/import.yaml")
	mustRun(t, db, "import", src)
	change := filepath.Join(t.TempDir(), "c.yaml")
	mustWrite(t, change, []byte(`
- {type: vm, name: web01, attrs: {cpus: 4}}
- {type: vm, name: db01, attrs: {cpus: 8}}
- {type: vm, name: new01, attrs: {owner: me, annotation: "<b> & co"}}
`))
	out := mustRun(t, db, "import", "--dry-run", change)
	for _, want := range []string{"~ vm web01 (update)", "cpus: 2 → 4", "= vm db01 (unchanged)", "+ vm new01 (create)", "owner: \"me\"", `annotation: "<b> & co"`, "1 created, 1 changed, 1 unchanged"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out)
		}
	}
	if got := mustRun(t, db, "get", "vm", "web01", "--json"); !strings.Contains(got, `"cpus": 2`) {
		t.Errorf("dry run wrote: %s", got)
	}
}

func TestGetHistoryDeleteRestore(t *testing.T) {
	db := inventorytest.DSN(t, "sqlite")
	src, _ := filepath.Abs("testdata/import.yaml")
	mustRun(t, db, "import", src)
	out := mustRun(t, db, "get", "vm", "web01")
	for _, want := range []string{"dns_name", `"web01.example.com."`, `"00:50:56:aa:bb:01"`, "(declared)"} {
		if !strings.Contains(out, want) {
			t.Errorf("get lacks %q:\n%s", want, out)
		}
	}
	mustRun(t, db, "delete", "vm", "web01", "--reason", "retired")
	if _, errOut, code := run(t, db, "", "get", "vm", "web01"); code != 1 || !strings.Contains(errOut, "not_found") {
		t.Errorf("get deleted: %d %s", code, errOut)
	}
	mustRun(t, db, "restore", "vm", "web01")
	hist := mustRun(t, db, "history", "vm", "web01")
	for _, want := range []string{"v1", "create  by tester via import", "v2", "delete  by tester via cli  (retired)", "v3", "restore"} {
		if !strings.Contains(hist, want) {
			t.Errorf("history lacks %q:\n%s", want, hist)
		}
	}
	if out := mustRun(t, db, "get", "vm", "web01", "--json"); !strings.Contains(out, `"host": "esx01"`) {
		t.Errorf("restore lost the reference: %s", out)
	}
}

func TestEveryCommandHasHelp(t *testing.T) {
	root := newRootCmd(newCLI(&bytes.Buffer{}, &bytes.Buffer{}, func(string) string { return "" }))
	for _, c := range root.Commands() {
		if c.Short == "" {
			t.Errorf("%s has no help text", c.Name())
		}
	}
}
