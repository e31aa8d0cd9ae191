package server

import (
	"encoding/json"
	"testing"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
)

func TestMutations(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		seed(t, s, 2)
		ts := start(t, s)

		// Typed create with typed attributes and a reference by name.
		var created struct {
			CreateVm struct {
				ID      string
				Version int
				Cpus    int
				Host    struct{ Name string }
			}
		}
		ts.query(t, `mutation { createVm(name: "web1", attrs: {cpus: 4, host: "h2", tags: ["a", "b"]}, reason: "test") { id version cpus host { name } } }`, nil, &created)
		vm := created.CreateVm
		if vm.Version != 1 || vm.Cpus != 4 || vm.Host.Name != "h2" {
			t.Fatalf("created: %+v", vm)
		}

		// Update with the version read, then again with the stale version.
		upd := `mutation($id: ID!, $v: Int!) { updateVm(id: $id, version: $v, attrs: {cpus: 8}) { version cpus } }`
		var updated struct{ UpdateVm struct{ Version, Cpus int } }
		ts.query(t, upd, map[string]any{"id": vm.ID, "v": 1}, &updated)
		if updated.UpdateVm.Version != 2 || updated.UpdateVm.Cpus != 8 {
			t.Fatalf("updated: %+v", updated)
		}
		r := ts.do(t, "", upd, map[string]any{"id": vm.ID, "v": 1})
		if r.code() != "CONFLICT" || len(r.Errors[0].Path) == 0 || r.Errors[0].Path[0] != "updateVm" {
			t.Fatalf("stale update: %+v", r.Errors)
		}

		// Variables arrive as JSON: numbers are float64 until the store
		// normalises them.
		var viaVars struct {
			CreateEntry struct{ Attrs map[string]any }
			CreateVm    struct {
				Cpus   int
				DiskGb float64
			}
		}
		ts.query(t, `mutation($a: JSON, $t: VmInput) { createEntry(type: "vm", name: "v1", attrs: $a) { attrs } createVm(name: "v2", attrs: $t) { cpus diskGb } }`,
			map[string]any{"a": map[string]any{"cpus": 2, "host": "h1"}, "t": map[string]any{"cpus": 6, "diskGb": 40.5}}, &viaVars)
		if viaVars.CreateEntry.Attrs["cpus"] != float64(2) || viaVars.CreateVm.Cpus != 6 || viaVars.CreateVm.DiskGb != 40.5 {
			t.Fatalf("via variables: %+v", viaVars)
		}

		// Validation errors name the field.
		r = ts.do(t, "", `mutation { createEntry(type: "vm", name: "bad", attrs: {cpus: "many"}) { id } }`, nil)
		if r.code() != "INVALID" || r.Errors[0].Extensions["field"] == nil {
			t.Fatalf("validation: %+v", r.Errors)
		}
		r = ts.do(t, "", `mutation { createVm(name: "web2", attrs: {host: "no-such-host"}) { id } }`, nil)
		if r.code() != "INVALID" {
			t.Fatalf("dangling reference: %+v", r.Errors)
		}
		r = ts.do(t, "", `mutation { createVm(name: "web1") { id } }`, nil)
		if r.code() != "CONFLICT" {
			t.Fatalf("duplicate name: %+v", r.Errors)
		}

		// Generic update removes an attribute with null, delete, restore.
		var gen struct {
			UpdateEntry struct {
				Version int
				Attrs   map[string]any
			}
		}
		ts.query(t, `mutation($id: ID!, $attrs: JSON) { updateEntry(id: $id, version: 2, attrs: $attrs, name: "web1b") { version attrs } }`,
			map[string]any{"id": vm.ID, "attrs": map[string]any{"tags": nil}}, &gen)
		if _, ok := gen.UpdateEntry.Attrs["tags"]; ok || gen.UpdateEntry.Version != 3 {
			t.Fatalf("generic update: %+v", gen)
		}
		var del struct{ DeleteEntry struct{ DeletedAt *string } }
		ts.query(t, `mutation($id: ID!) { deleteEntry(id: $id, version: 3, reason: "gone") { deletedAt } }`, map[string]any{"id": vm.ID}, &del)
		if del.DeleteEntry.DeletedAt == nil {
			t.Fatal("delete did not set deletedAt")
		}
		var res struct {
			RestoreEntry struct {
				DeletedAt *string
				Version   int
			}
		}
		ts.query(t, `mutation($id: ID!) { restoreEntry(id: $id) { deletedAt version } }`, map[string]any{"id": vm.ID}, &res)
		if res.RestoreEntry.DeletedAt != nil {
			t.Fatalf("restore: %+v", res)
		}

		// Bulk upsert: all or none, errors with the item index.
		var up struct{ UpsertEntries []struct{ Op, Name string } }
		ts.query(t, `mutation { upsertEntries(items: [{type: "vm", name: "u1", attrs: {cpus: 1}}, {type: "vm", name: "vm001", attrs: {cpus: 3}}]) { op name } }`, nil, &up)
		if len(up.UpsertEntries) != 2 || up.UpsertEntries[0].Op != "create" || up.UpsertEntries[1].Op != "update" {
			t.Fatalf("upsert: %+v", up)
		}
		r = ts.do(t, "", `mutation { upsertEntries(items: [{type: "vm", name: "u2"}, {type: "vm", name: "u3", attrs: {cpus: "x"}}]) { op } }`, nil)
		if r.code() != "INVALID" {
			t.Fatalf("bad upsert: %+v", r.Errors)
		}
		if _, err := s.GetByName(t.Context(), "vm", "u2"); err == nil {
			t.Fatal("a failed upsert wrote its first item")
		}

		// History shows the API writes with actor and reason.
		var hist struct {
			EntryHistory []struct {
				Op, Actor, Source string
				Changes           json.RawMessage
			}
		}
		ts.query(t, `query($id: ID!) { entryHistory(id: $id) { op actor source changes } }`, map[string]any{"id": vm.ID}, &hist)
		if len(hist.EntryHistory) != 5 || hist.EntryHistory[0].Source != "api" || hist.EntryHistory[0].Actor != "anonymous" {
			t.Fatalf("history: %+v", hist)
		}
	})
}
