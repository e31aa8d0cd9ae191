package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tana-cmdb/tana/access"
	"github.com/tana-cmdb/tana/allocate"
	"github.com/tana-cmdb/tana/collectors"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/ansible"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/reconcile"
	"github.com/tana-cmdb/tana/schema"
)

// appType is a type with an owner and a secret.
func appType() *schema.EntityType {
	return &schema.EntityType{Name: "app", Attributes: []*schema.Attribute{
		{Name: "owner", TypeName: "string"},
		{Name: "port", TypeName: "integer"},
		{Name: "api_key", TypeName: "string", Secret: true},
	}}
}

// matrix is the estate, people and policy of the permission matrix:
//
//	write team:web on vm where owner=$team   read team:web on vm
//	write team:db  on vm where owner=$team   none team:web on vm.annotation
//	read anyone on vm.owner                  write team:web on app where owner=$team
//	write team:web on ip_pool
//
// alice is in team web, bob in team db; ro, rw and root are tokens of the
// built-in roles; anonymous has no token.
type matrix struct {
	s      *inventory.Store
	ts     *testServer
	tokens map[string]string // persona → bearer token
}

var personas = []string{"anonymous", "reader", "alice", "bob", "writer", "admin"}

func setUpMatrix(t *testing.T, s *inventory.Store) *matrix {
	t.Helper()
	ctx := context.Background()
	by := inventory.By{Actor: "test"}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	m := &matrix{s: s, tokens: map[string]string{}}
	for _, team := range []string{"web", "db"} {
		_, err := s.CreateTeam(ctx, by, inventory.Team{Name: team})
		must(err)
	}
	for user, team := range map[string]string{"alice": "web", "bob": "db"} {
		_, err := s.CreateUser(ctx, by, inventory.User{Name: user})
		must(err)
		must(s.AddTeamMember(ctx, by, team, user))
		secret, _, err := s.CreateTokenFor(ctx, by, inventory.TokenSpec{Name: user, User: user})
		must(err)
		m.tokens[user] = secret
	}
	for persona, role := range map[string]string{"reader": "reader", "writer": "writer", "admin": "admin"} {
		secret, _, err := s.CreateTokenFor(ctx, by, inventory.TokenSpec{Name: persona, Role: role})
		must(err)
		m.tokens[persona] = secret
	}
	for _, g := range []access.Grant{
		{Subject: "team:web", Level: access.Write, Type: "vm", Where: ownTeam()},
		{Subject: "team:db", Level: access.Write, Type: "vm", Where: ownTeam()},
		{Subject: "team:web", Level: access.Read, Type: "vm"},
		{Subject: "anyone", Level: access.Read, Type: "vm", Attr: "owner"},
		{Subject: "team:web", Level: access.None, Type: "vm", Attr: "annotation"},
		{Subject: "team:web", Level: access.Write, Type: "app", Where: ownTeam()},
		{Subject: "team:web", Level: access.Write, Type: "ip_pool"},
	} {
		_, err := access.AddGrant(ctx, s, by, g)
		must(err)
	}
	for _, it := range []inventory.Item{
		{Type: "vm", Name: "web01", Attrs: map[string]any{"instance_uuid": "u1", "owner": "web", "cpus": 2, "annotation": "web notes"}},
		{Type: "vm", Name: "web02", Attrs: map[string]any{"instance_uuid": "u2", "owner": "web", "cpus": 2}},
		{Type: "vm", Name: "db01", Attrs: map[string]any{"instance_uuid": "u3", "owner": "db", "cpus": 4, "annotation": "db notes"}},
		{Type: "vm", Name: "mail01", Attrs: map[string]any{"instance_uuid": "u4", "cpus": 1}},
		{Type: "app", Name: "webapp", Attrs: map[string]any{"owner": "web", "port": 443, "api_key": "web-key"}},
		{Type: "app", Name: "dbapp", Attrs: map[string]any{"owner": "db", "port": 5432, "api_key": "db-key"}},
		{Type: "ip_pool", Name: "lab", Attrs: map[string]any{"cidr": "192.0.2.0/24"}},
	} {
		_, err := s.Create(ctx, inventorytest.Meta("admin"), it.Type, it.Name, it.Attrs)
		must(err)
	}

	// Drift: web01 resized, db01's notes changed in vSphere, a VM tana
	// has not seen.
	e := reconcile.New(s, reconcile.Options{Policies: map[string]reconcile.Policy{"vm": {Observed: "propose"}}})
	obj := func(uuid, name string, attrs map[string]any) collectors.Object {
		attrs["instance_uuid"] = uuid
		if e, err := s.GetByName(ctx, "vm", name); err == nil && e.Attrs["owner"] != nil {
			attrs["owner"] = e.Attrs["owner"]
		}
		return collectors.Object{Type: "vm", ID: uuid, Name: name, Attrs: attrs}
	}
	_, err := e.Reconcile(ctx, &collectors.Snapshot{Source: "vc1", Kind: "vsphere", Scope: "vsphere:vc1", Types: []string{"vm"}, Complete: true,
		Objects: []collectors.Object{
			obj("u1", "web01", map[string]any{"cpus": 8, "annotation": "web notes"}),
			obj("u2", "web02", map[string]any{"cpus": 2}),
			obj("u3", "db01", map[string]any{"cpus": 4, "annotation": "changed by hand"}),
			obj("u4", "mail01", map[string]any{"cpus": 1}),
			obj("u9", "ghost", map[string]any{"cpus": 1}),
		}})
	must(err)
	rep, err := e.Report(ctx, time.Now().Add(-24*time.Hour))
	must(err)
	must(e.SaveReport(ctx, rep))

	inv, err := ansible.New(s, ansible.Options{KeyedGroups: []ansible.KeyedGroup{{Key: "owner", Prefix: "owner"}}, IncludePoweredOff: true})
	must(err)
	m.ts = start(t, s, func(o *Options) {
		o.Reconcile = e
		o.Allocator = allocate.New(s, allocate.Options{})
		o.Ansible = ansible.Handler(inv)
	})
	return m
}

func ownTeam() []inventory.Filter {
	return []inventory.Filter{{Attr: "owner", Op: inventory.OpEq, Values: []any{"$team"}}}
}

// get fetches path as persona: status and body.
func (m *matrix) get(t *testing.T, persona, path string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, m.ts.url+path, nil)
	if tok := m.tokens[persona]; tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// render writes entries as "name[k=v …]" sorted, attributes without
// value left out: what a persona saw, in one line.
func render(entries []map[string]any) string {
	var out []string
	for _, e := range entries {
		var kv []string
		for k, v := range e {
			if k != "name" && v != nil {
				kv = append(kv, fmt.Sprintf("%s=%v", k, v))
			}
		}
		sort.Strings(kv)
		out = append(out, fmt.Sprintf("%v[%s]", e["name"], strings.Join(kv, " ")))
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// TestPermissionMatrix: for each persona and each interface — GraphQL
// queries and mutations, the Ansible inventory, the export, the drift
// report — what is seen and what may be written is exactly what the
// grants say, on SQLite and PostgreSQL.
func TestPermissionMatrix(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		m := setUpMatrix(t, s)
		t.Run("graphql query", m.graphQLQuery)
		t.Run("ansible", m.ansibleInventory)
		t.Run("export", m.export)
		t.Run("report", m.report)
		t.Run("web", m.web)
		t.Run("mutations", m.mutations) // last: it changes the estate
	}, appType())
}

const (
	allVMs  = "db01[annotation=db notes cpus=4 owner=db] mail01[cpus=1] web01[annotation=web notes cpus=2 owner=web] web02[cpus=2 owner=web]"
	webView = "db01[cpus=4 owner=db] mail01[cpus=1] web01[cpus=2 owner=web] web02[cpus=2 owner=web]"
	dbView  = "db01[annotation=db notes cpus=4 owner=db]"
)

func (m *matrix) graphQLQuery(t *testing.T) {
	q := `{ vms(first: 100) { edges { node { name owner annotation cpus } } }
	        apps(first: 100) { edges { node { name owner port apiKey } } } }`
	want := map[string]string{
		"reader": allVMs + " | dbapp[owner=db port=5432] webapp[owner=web port=443]",
		"alice":  webView + " | webapp[owner=web port=443]",
		"bob":    dbView + " | ",
		"writer": allVMs + " | dbapp[owner=db port=5432] webapp[owner=web port=443]",
		"admin":  allVMs + " | dbapp[apiKey=db-key owner=db port=5432] webapp[apiKey=web-key owner=web port=443]",
	}
	for _, p := range personas {
		r := m.ts.do(t, m.tokens[p], q, nil)
		if p == "anonymous" {
			if r.Status != http.StatusUnauthorized {
				t.Errorf("anonymous: %d %s", r.Status, r.Data)
			}
			continue
		}
		var data struct {
			Vms, Apps struct {
				Edges []struct{ Node map[string]any }
			}
		}
		if r.Status != 200 || len(r.Errors) > 0 || json.Unmarshal(r.Data, &data) != nil {
			t.Fatalf("%s: %d %s %+v", p, r.Status, r.Data, r.Errors)
		}
		nodes := func(es []struct{ Node map[string]any }) []map[string]any {
			var out []map[string]any
			for _, e := range es {
				out = append(out, e.Node)
			}
			return out
		}
		if got := render(nodes(data.Vms.Edges)) + " | " + render(nodes(data.Apps.Edges)); got != want[p] {
			t.Errorf("%s sees\n  %s\nwant\n  %s", p, got, want[p])
		}
	}
	// One entry, its references and its history obey the same rules.
	for _, c := range []struct{ persona, query, want string }{
		{"bob", `{ vm(name: "web01") { name } }`, `{"vm":null}`},
		{"alice", `{ vm(name: "db01") { name annotation } }`, `{"vm":{"annotation":null,"name":"db01"}}`},
		{"alice", `{ app(name: "dbapp") { name } }`, `{"app":null}`},
	} {
		r := m.ts.do(t, m.tokens[c.persona], c.query, nil)
		if string(r.Data) != c.want {
			t.Errorf("%s %s: %s %+v, want %s", c.persona, c.query, r.Data, r.Errors, c.want)
		}
	}
	web01, _ := m.s.GetByName(context.Background(), "vm", "web01")
	r := m.ts.do(t, m.tokens["alice"], `query($id: ID!) { entryHistory(id: $id) { changes } }`, map[string]any{"id": fmt.Sprint(web01.ID)})
	if len(r.Errors) > 0 || strings.Contains(string(r.Data), "web notes") || !strings.Contains(string(r.Data), "cpus") {
		t.Errorf("alice reads web01's history: %s %+v; want cpus without the annotation", r.Data, r.Errors)
	}
	r = m.ts.do(t, m.tokens["bob"], `query($id: ID!) { entryHistory(id: $id) { changes } }`, map[string]any{"id": fmt.Sprint(web01.ID)})
	if r.code() != "NOT_FOUND" {
		t.Errorf("bob reads web01's history: %s %+v; want NOT_FOUND", r.Data, r.Errors)
	}
}

func (m *matrix) ansibleInventory(t *testing.T) {
	want := map[string]string{
		"reader": allVMs + " | owner_db owner_web",
		"alice":  webView + " | owner_db owner_web",
		"bob":    dbView + " | owner_db",
		"writer": allVMs + " | owner_db owner_web",
		"admin":  allVMs + " | owner_db owner_web",
	}
	for _, p := range personas {
		status, body := m.get(t, p, "/ansible/inventory")
		if p == "anonymous" {
			if status != http.StatusUnauthorized {
				t.Errorf("anonymous: %d %s", status, body)
			}
			continue
		}
		var inv map[string]json.RawMessage
		if status != 200 || json.Unmarshal(body, &inv) != nil {
			t.Fatalf("%s: %d %s", p, status, body)
		}
		var meta struct{ Hostvars map[string]map[string]any }
		if err := json.Unmarshal(inv["_meta"], &meta); err != nil {
			t.Fatal(err)
		}
		var hosts []map[string]any
		for name, vars := range meta.Hostvars {
			h := map[string]any{"name": name}
			for _, k := range []string{"owner", "annotation", "cpus"} {
				h[k] = vars[k]
			}
			hosts = append(hosts, h)
		}
		var groups []string
		for g := range inv {
			if strings.HasPrefix(g, "owner_") {
				groups = append(groups, g)
			}
		}
		slices.Sort(groups)
		if got := render(hosts) + " | " + strings.Join(groups, " "); got != want[p] {
			t.Errorf("%s sees\n  %s\nwant\n  %s", p, got, want[p])
		}
	}
	if status, body := m.get(t, "bob", "/ansible/inventory?host=web01"); status != 200 || string(body) != "{}\n" && string(body) != "{}" {
		t.Errorf("bob asks for web01's vars: %d %s, want {}", status, body)
	}
}

func (m *matrix) export(t *testing.T) {
	want := map[string]string{
		"reader": allVMs + " | dbapp[owner=db port=5432] webapp[owner=web port=443]",
		"alice":  webView + " | webapp[owner=web port=443]",
		"bob":    dbView + " | ",
		"writer": allVMs + " | dbapp[owner=db port=5432] webapp[owner=web port=443]",
		"admin":  allVMs + " | dbapp[api_key=db-key owner=db port=5432] webapp[api_key=web-key owner=web port=443]",
	}
	for _, p := range personas {
		var parts []string
		for _, typ := range []string{"vm", "app"} {
			status, body := m.get(t, p, "/export?format=json&secrets=true&type="+typ)
			if p == "anonymous" {
				if status != http.StatusUnauthorized {
					t.Errorf("anonymous: %d %s", status, body)
				}
				break
			}
			var items []inventory.Item
			if status != 200 || json.Unmarshal(body, &items) != nil {
				t.Fatalf("%s: %d %s", p, status, body)
			}
			var es []map[string]any
			for _, it := range items {
				e := map[string]any{"name": it.Name}
				for _, k := range []string{"owner", "annotation", "cpus", "port", "api_key"} {
					e[k] = it.Attrs[k]
				}
				es = append(es, e)
			}
			parts = append(parts, render(es))
		}
		if p == "anonymous" {
			continue
		}
		if got := strings.Join(parts, " | "); got != want[p] {
			t.Errorf("%s exports\n  %s\nwant\n  %s", p, got, want[p])
		}
	}
	if status, body := m.get(t, "admin", "/export?format=json&type=app"); status != 200 || strings.Contains(string(body), "-key") {
		t.Errorf("admin's export without secrets=true: %d %s", status, body)
	}
}

func (m *matrix) report(t *testing.T) {
	// The drift: web01's cpus, db01's annotation, and a VM not in the store
	// (seen by those who read the type as a whole).
	want := map[string]string{
		"reader": "changed db01.annotation, changed web01.cpus, missing_in_store ghost.",
		"alice":  "changed web01.cpus, missing_in_store ghost.",
		"bob":    "changed db01.annotation",
		"writer": "changed db01.annotation, changed web01.cpus, missing_in_store ghost.",
		"admin":  "changed db01.annotation, changed web01.cpus, missing_in_store ghost.",
	}
	describe := func(items []reconcile.Item) string {
		var out []string
		for _, it := range items {
			out = append(out, fmt.Sprintf("%s %s.%s", it.Kind, it.EntryName+objectName(it), it.Attr))
		}
		sort.Strings(out)
		return strings.Join(out, ", ")
	}
	for _, p := range personas {
		status, body := m.get(t, p, "/reports?format=json")
		if p == "anonymous" {
			if status != http.StatusUnauthorized {
				t.Errorf("anonymous: %d %s", status, body)
			}
			continue
		}
		var rep reconcile.Report
		if status != 200 || json.Unmarshal(body, &rep) != nil {
			t.Fatalf("%s: %d %s", p, status, body)
		}
		if got := describe(rep.Open); got != want[p] || rep.Summary.Open != len(rep.Open) {
			t.Errorf("%s's report: %s (summary: %d open), want %s", p, got, rep.Summary.Open, want[p])
		}
		// The same through GraphQL: the drift, and the stored report's
		// summary counted from what the persona sees.
		r := m.ts.do(t, m.tokens[p], `{ drift { kind entryName attr object } reports { summary } }`, nil)
		var data struct {
			Drift []struct {
				Kind, EntryName, Attr string
				Object                *collectors.Object
			}
			Reports []struct{ Summary reconcile.Summary }
		}
		if r.Status != 200 || len(r.Errors) > 0 || json.Unmarshal(r.Data, &data) != nil {
			t.Fatalf("%s drift: %d %s %+v", p, r.Status, r.Data, r.Errors)
		}
		var items []reconcile.Item
		for _, d := range data.Drift {
			items = append(items, reconcile.Item{Kind: reconcile.Kind(d.Kind), EntryName: d.EntryName, Attr: d.Attr, Object: d.Object})
		}
		if got := describe(items); got != want[p] {
			t.Errorf("%s's drift: %s, want %s", p, got, want[p])
		}
		if len(data.Reports) != 1 || data.Reports[0].Summary.Open != len(items) {
			t.Errorf("%s's stored report: %+v, want %d open", p, data.Reports, len(items))
		}
	}
}

func objectName(it reconcile.Item) string {
	if it.EntryName == "" && it.Object != nil {
		return it.Object.Name
	}
	return ""
}

func (m *matrix) mutations(t *testing.T) {
	ctx := context.Background()
	update := `mutation($id: ID!, $v: Int!, $attrs: JSON) { updateEntry(id: $id, version: $v, attrs: $attrs) { name } }`
	cases := []struct {
		persona, typ, entry string
		attrs               map[string]any
		code, field         string // "" allowed
	}{
		{"anonymous", "vm", "web01", map[string]any{"cpus": 3}, "UNAUTHORIZED", ""},
		{"reader", "vm", "web01", map[string]any{"cpus": 3}, "FORBIDDEN", ""},
		{"bob", "vm", "web01", map[string]any{"cpus": 3}, "NOT_FOUND", ""}, // bob does not see web01
		{"bob", "vm", "db01", map[string]any{"cpus": 8}, "", ""},
		{"alice", "vm", "db01", map[string]any{"cpus": 9}, "FORBIDDEN", "cpus"},
		{"alice", "vm", "web01", map[string]any{"owner": "db"}, "FORBIDDEN", "owner"},
		{"alice", "vm", "web01", map[string]any{"annotation": "x"}, "FORBIDDEN", "annotation"},
		{"alice", "vm", "web01", map[string]any{"cpus": 3}, "", ""},
		{"writer", "vm", "web01", map[string]any{"owner": "db"}, "FORBIDDEN", "owner"},
		{"writer", "vm", "mail01", map[string]any{"cpus": 2}, "", ""},
		{"alice", "vm", "mail01", map[string]any{"cpus": 4}, "FORBIDDEN", "cpus"},
		{"admin", "vm", "mail01", map[string]any{"owner": "web"}, "", ""},
		{"alice", "vm", "mail01", map[string]any{"cpus": 4}, "", ""}, // now web's
		{"alice", "app", "webapp", map[string]any{"owner": "db"}, "FORBIDDEN", ""},
		{"alice", "app", "webapp", map[string]any{"api_key": "rotated"}, "", ""}, // writes a secret it cannot read
		{"alice", "app", "dbapp", map[string]any{"port": 1}, "NOT_FOUND", ""},
	}
	for _, c := range cases {
		before, err := m.s.GetByName(ctx, c.typ, c.entry)
		if err != nil {
			t.Fatal(err)
		}
		r := m.ts.do(t, m.tokens[c.persona], update, map[string]any{"id": fmt.Sprint(before.ID), "v": before.Version, "attrs": c.attrs})
		field := ""
		if len(r.Errors) > 0 {
			field, _ = r.Errors[0].Extensions["field"].(string)
		}
		after, _ := m.s.GetByName(ctx, c.typ, c.entry)
		switch {
		case r.code() != c.code || field != c.field:
			t.Errorf("%s sets %v on %s: %s %q %+v; want %q %q", c.persona, c.attrs, c.entry, r.code(), field, r.Errors, c.code, c.field)
		case c.code != "" && after.Version != before.Version:
			t.Errorf("%s sets %v on %s: refused, yet the entry changed", c.persona, c.attrs, c.entry)
		}
	}
	// netbox #18987: alice saves web01 as she sees it — without the
	// annotation she cannot see; it is kept.
	r := m.ts.do(t, m.tokens["alice"], `mutation { upsertEntries(items: [{type: "vm", name: "web01", attrs: {cpus: 6, owner: "web"}}]) { op } }`, nil)
	web01, _ := m.s.GetByName(ctx, "vm", "web01")
	if len(r.Errors) > 0 || web01.Attrs["annotation"] != "web notes" || web01.Attrs["cpus"] != int64(6) {
		t.Errorf("alice saves web01: %s %+v; stored %v, want cpus 6 and the annotation kept", r.Data, r.Errors, web01.Attrs)
	}
	// Creating: a team creates what it then owns, nothing else.
	for _, c := range []struct{ persona, name, owner, code string }{
		{"alice", "webapp2", "web", ""},
		{"alice", "dbapp2", "db", "FORBIDDEN"},
		{"bob", "dbapp3", "db", "FORBIDDEN"}, // no grant on app
	} {
		r := m.ts.do(t, m.tokens[c.persona], `mutation($n: String!, $o: String!) { createApp(name: $n, attrs: {owner: $o}) { name } }`, map[string]any{"n": c.name, "o": c.owner})
		if r.code() != c.code {
			t.Errorf("%s creates app %s of %s: %s %+v, want %q", c.persona, c.name, c.owner, r.Data, r.Errors, c.code)
		}
	}
	// Operations on the whole estate need the writer role; pools, write on
	// the pool.
	for _, c := range []struct{ persona, query, code string }{
		{"alice", `mutation { plan { id } }`, "FORBIDDEN"},
		{"writer", `mutation { plan { id } }`, ""},
		{"writer", `mutation { applyPlan(id: "nosuch", overrideLimits: true) { status } }`, "FORBIDDEN"}, // limits are an admin's
		{"admin", `mutation { applyPlan(id: "nosuch", overrideLimits: true) { status } }`, "NOT_FOUND"},
		{"alice", `mutation { allocate(pool: "lab") { values } }`, ""},
		{"bob", `mutation { allocate(pool: "lab") { values } }`, "NOT_FOUND"}, // bob does not see the pool
		{"reader", `mutation { allocate(pool: "lab") { values } }`, "FORBIDDEN"},
		{"bob", `{ pools { name } }`, ""},
	} {
		r := m.ts.do(t, m.tokens[c.persona], c.query, nil)
		if r.code() != c.code {
			t.Errorf("%s: %s: %s %+v, want %q", c.persona, c.query, r.Data, r.Errors, c.code)
		}
		if c.query == `{ pools { name } }` && string(r.Data) != `{"pools":[]}` {
			t.Errorf("bob lists pools: %s, want none", r.Data)
		}
	}
}

// TestNetbox18987 is netbox #18987 as the issue puts it: a user who may
// not read vm.owner updates vm.cpus — by the typed mutation, the generic
// one, an upsert and the web form — and owner stays as it was.
func TestNetbox18987(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		by := inventory.By{Actor: "test"}
		if _, err := s.CreateTeam(ctx, by, inventory.Team{Name: "ops"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateUser(ctx, by, inventory.User{Name: "carol"}); err != nil {
			t.Fatal(err)
		}
		if err := s.AddTeamMember(ctx, by, "ops", "carol"); err != nil {
			t.Fatal(err)
		}
		for _, g := range []access.Grant{
			{Subject: "team:ops", Level: access.Write, Type: "vm"},
			{Subject: "team:ops", Level: access.None, Type: "vm", Attr: "owner"},
		} {
			if _, err := access.AddGrant(ctx, s, by, g); err != nil {
				t.Fatal(err)
			}
		}
		token, _, err := s.CreateTokenFor(ctx, by, inventory.TokenSpec{Name: "carol", User: "carol"})
		if err != nil {
			t.Fatal(err)
		}
		vm, err := s.Create(ctx, inventorytest.Meta("admin"), "vm", "web01", map[string]any{"owner": "web", "cpus": 2})
		if err != nil {
			t.Fatal(err)
		}
		ts := start(t, s)
		id := idString(vm.ID)
		check := func(how string, cpus int64) {
			t.Helper()
			e, _ := s.GetByName(ctx, "vm", "web01")
			if e.Attrs["owner"] != "web" || e.Attrs["cpus"] != cpus {
				t.Errorf("after %s: %v, want owner web and cpus %d", how, e.Attrs, cpus)
			}
		}
		version := func() int64 { e, _ := s.GetByName(ctx, "vm", "web01"); return e.Version }
		if r := ts.do(t, token, `{ vm(name: "web01") { owner cpus attrs } }`, nil); strings.Contains(string(r.Data), "web\"") {
			t.Errorf("carol reads the owner: %s", r.Data)
		}
		r := ts.do(t, token, `mutation($id: ID!, $v: Int!) { updateVm(id: $id, version: $v, attrs: {cpus: 4}) { cpus } }`, map[string]any{"id": id, "v": version()})
		if len(r.Errors) > 0 {
			t.Fatalf("updateVm: %+v", r.Errors)
		}
		check("updateVm", 4)
		r = ts.do(t, token, `mutation($id: ID!, $v: Int!) { updateEntry(id: $id, version: $v, attrs: {cpus: 5}) { name } }`, map[string]any{"id": id, "v": version()})
		if len(r.Errors) > 0 {
			t.Fatalf("updateEntry: %+v", r.Errors)
		}
		check("updateEntry", 5)
		r = ts.do(t, token, `mutation { upsertEntries(items: [{type: "vm", name: "web01", attrs: {cpus: 6}}]) { op } }`, nil)
		if len(r.Errors) > 0 {
			t.Fatalf("upsertEntries: %+v", r.Errors)
		}
		check("upsertEntries", 6)
		// The web form has no owner input for her: what she saves keeps it.
		p := fetch(t, noRedirect, http.MethodGet, ts.url+"/e/"+id+"/edit", token, nil)
		if v, _ := p.doc.Find("#f-owner").Attr("value"); v != "" {
			t.Errorf("the form shows carol the owner %q", v)
		}
		form := url.Values{"version": {fmt.Sprint(version())}, "name": {"web01"}, "attr.cpus": {"7"}, "attr.owner": {""}}
		if p := fetch(t, noRedirect, http.MethodPost, ts.url+"/e/"+id, token, form); p.status != http.StatusSeeOther {
			t.Fatalf("web form: %d %v", p.status, p.texts(".notice"))
		}
		check("the web form", 7)
	})
}
