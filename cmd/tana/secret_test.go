package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tana-cmdb/tana/inventory/inventorytest"
)

// secretConfig writes a tana.yaml whose types add a service with a secret
// attribute, and returns the --config arguments.
func secretConfig(t *testing.T) []string {
	t.Helper()
	dir := t.TempDir()
	types := filepath.Join(dir, "types")
	if err := os.Mkdir(types, 0o700); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(types, "service.yaml"), []byte(`types:
  - name: service
    attributes:
      - {name: owner, type: string}
      - {name: api_key, type: string, secret: true}
`))
	cfg := filepath.Join(dir, "tana.yaml")
	mustWrite(t, cfg, []byte("types: "+types+"\n"))
	return []string{"--config", cfg}
}

// TestSecretsHiddenInEveryOutput: get, export, history (text and JSON) and
// import's own report hide secret values unless asked.
func TestSecretsHiddenInEveryOutput(t *testing.T) {
	db := inventorytest.DSN(t, "sqlite")
	cfg := secretConfig(t)
	dir := t.TempDir()
	for i, key := range []string{"hunter2", "hunter3"} {
		f := filepath.Join(dir, "s.yaml")
		mustWrite(t, f, []byte("- {type: service, name: billing, attrs: {owner: ops, api_key: "+key+"}}\n"))
		out := mustRun(t, db, append(cfg, "import", f)...)
		if strings.Contains(out, "hunter") {
			t.Errorf("import %d shows a secret:\n%s", i, out)
		}
	}
	hidden := [][]string{
		{"get", "service", "billing"},
		{"get", "service", "billing", "--json"},
		{"export"},
		{"export", "--format", "json"},
		{"history", "service", "billing"},
		{"history", "service", "billing", "--json"},
	}
	for _, args := range hidden {
		out := mustRun(t, db, append(cfg, args...)...)
		if strings.Contains(out, "hunter") {
			t.Errorf("tana %s shows a secret:\n%s", strings.Join(args, " "), out)
		}
		if strings.Contains(out, "owner") != true {
			t.Errorf("tana %s hides too much:\n%s", strings.Join(args, " "), out)
		}
	}
	shown := map[string][]string{
		"hunter3":               {"get", "service", "billing", "--show-secrets"},
		`"hunter3"`:             {"export", "--include-secrets", "--format", "json"},
		`"hunter2" → "hunter3"`: {"history", "service", "billing", "--show-secrets"},
		`"old": "hunter2"`:      {"history", "service", "billing", "--json", "--show-secrets"},
	}
	for want, args := range shown {
		if out := mustRun(t, db, append(cfg, args...)...); !strings.Contains(out, want) {
			t.Errorf("tana %s lacks %s:\n%s", strings.Join(args, " "), want, out)
		}
	}
}
