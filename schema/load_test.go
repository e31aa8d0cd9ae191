package schema

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBuiltinTypes(t *testing.T) {
	reg, err := NewRegistry(Builtin()...)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"vm", "host", "cluster", "datacenter", "datastore", "network", "folder", "dns_zone", "dns_record"} {
		if _, err := reg.Type(n); err != nil {
			t.Errorf("built-in %s: %v", n, err)
		}
	}
	back := reg.BackRefs("host")
	if len(back) != 1 || back[0].From.Name != "vm" || back[0].Attr.Name != "host" {
		t.Errorf("back-references to host: %+v", back)
	}
}

func TestParseTypesErrorsNameFileLineAndField(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"bad type", "types:\n  - name: service\n    attributes:\n      - name: port\n        type: intger\n", `svc.yaml:5: service.attributes[0].type: unknown value type "intger"`},
		{"unknown key", "types:\n  - name: service\n    attributes:\n      - name: port\n        typ: integer\n", `svc.yaml:5: types[0].service.attributes[0].typ: unknown field`},
		{"bad authority", "types:\n  - name: service\n    attributes:\n      - {name: port, type: integer, authority: mine}\n", `svc.yaml:4: service.attributes[0].authority: unknown authority "mine"`},
		{"bad default", "types:\n  - name: service\n    attributes:\n      - {name: port, type: integer, default: high}\n", `service.attributes[0].default: expected integer`},
		{"duplicate attribute", "types:\n  - name: service\n    attributes:\n      - {name: a, type: string}\n      - {name: a, type: string}\n", `svc.yaml:5: service.attributes[1].name: duplicate attribute "a"`},
		{"reserved", "types:\n  - name: service\n    attributes:\n      - {name: name, type: string}\n", `is reserved`},
		{"not yaml", "types: [\n", `svc.yaml`},
		{"top level", "kinds: []\n", `svc.yaml:1: kinds: unknown field`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseTypes("svc.yaml", []byte(c.yaml))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
		})
	}
}

func TestLoadRejectsWholeDirectoryOnOneBadFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("types:\n  - name: service\n    attributes:\n      - {name: owner, type: string, authority: declared}\n      - {name: vms, type: \"list:ref:vm\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	reg, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Type("service"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "b.yaml"), []byte("types:\n  - name: app\n    attributes:\n      - {name: svc, type: \"ref:nothing\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), `app.svc: references unknown type "nothing"`) {
		t.Fatalf("got %v", err)
	}
}

func TestUserTypeExtendsBuiltin(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "vm.yaml"), []byte("types:\n  - name: vm\n    attributes:\n      - {name: environment, type: string, authority: declared}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	reg, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	vm, _ := reg.Type("vm")
	if vm.Attr("environment") == nil || vm.Attr("instance_uuid") == nil {
		t.Fatal("vm not extended")
	}
	if err := os.WriteFile(filepath.Join(dir, "vm.yaml"), []byte("types:\n  - name: vm\n    attributes:\n      - {name: cpus, type: string}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "built-in attribute cannot be redefined") {
		t.Fatalf("got %v", err)
	}
}

func TestNormalizeAttrs(t *testing.T) {
	reg, _ := NewRegistry(Builtin()...)
	vm, _ := reg.Type("vm")
	if _, err := vm.NormalizeAttrs(map[string]any{"cpus": "x"}); ErrorField(err) != "cpus" || ErrorCode(err) != EINVALID {
		t.Errorf("got %v", err)
	}
	if _, err := vm.NormalizeAttrs(map[string]any{"colour": "x"}); ErrorField(err) != "colour" {
		t.Errorf("got %v", err)
	}
	// With several bad attributes the first by name is reported, whatever
	// order the map is walked in.
	bad := map[string]any{"ip": "nope", "cpus": "x", "zzz": 1, "memory_mb": true, "guest_os": "ok"}
	for range 50 {
		if _, err := vm.NormalizeAttrs(bad); ErrorField(err) != "cpus" {
			t.Fatalf("several bad attributes: %v names %q, want cpus", err, ErrorField(err))
		}
	}
	zone, _ := reg.Type("dns_zone")
	if err := zone.CheckRequired(map[string]any{}); ErrorField(err) != "zone" {
		t.Errorf("got %v", err)
	}
}
