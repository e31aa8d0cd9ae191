package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/tana-cmdb/tana/inventory/inventorytest"
)

// TestImportRefusesLenientInput: files tana import used to take (trailing
// garbage after a JSON list, invalid UTF-8 that encoding/json turned into
// U+FFFD, a second YAML document it never read) are refused with where,
// and nothing is written.
func TestImportRefusesLenientInput(t *testing.T) {
	cases := []struct{ name, file, data, want string }{
		{"json trailing garbage", "a.json", `[{"type": "vm", "name": "web01"}] {"type": "vm", "name": "web02"}`, "a.json:1:35: data after the list of items"},
		{"json invalid utf-8", "b.json", "[{\"type\": \"vm\",\n \"name\": \"web\xff01\"}]", "b.json:2:14: invalid UTF-8 (byte 0xff)"},
		{"yaml second document", "c.yaml", "- {type: vm, name: web01}\n---\n- {type: vm, name: web02}\n", "c.yaml:2: a second YAML document"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db := inventorytest.DSN(t, "sqlite")
			path := filepath.Join(t.TempDir(), c.file)
			mustWrite(t, path, []byte(c.data))
			_, errOut, code := run(t, db, "", "import", path)
			if code != 1 || !strings.Contains(errOut, c.want) {
				t.Errorf("import: exit %d, want an error with %q:\n%s", code, c.want, errOut)
			}
			if out := mustRun(t, db, "export"); strings.TrimSpace(out) != "[]" {
				t.Errorf("import wrote:\n%s", out)
			}
		})
	}
}
