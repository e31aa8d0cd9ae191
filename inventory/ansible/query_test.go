package ansible

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
)

func TestParseQuery(t *testing.T) {
	good := []struct {
		raw  string
		want Query
	}{
		{"", Query{}},
		{"type=vm&vars=ansible_host,role&vars=cpus", Query{Types: []string{"vm"}, Vars: []string{"ansible_host", "role", "cpus"}}},
		{"filter=role=web,db", Query{Filters: []QueryFilter{{"role", inventory.OpIn, []string{"web", "db"}}}}},
		{"filter=" + url.QueryEscape(`annotation~a,b`), Query{Filters: []QueryFilter{{"annotation", inventory.OpContains, []string{"a,b"}}}}},
		{"filter=" + url.QueryEscape(`tags=a\,b,c\\`), Query{Filters: []QueryFilter{{"tags", inventory.OpIn, []string{"a,b", `c\`}}}}},
		{"filter=cpus>=4&filter=cpus<8&filter=ip&filter=!owner", Query{Filters: []QueryFilter{
			{"cpus", inventory.OpGte, []string{"4"}}, {"cpus", inventory.OpLt, []string{"8"}},
			{"ip", inventory.OpNotNull, nil}, {"owner", inventory.OpIsNull, nil}}}},
		{"owner=alice,bob&team=ops", Query{Owners: []string{"alice", "bob"}, Team: "ops"}},
	}
	for _, c := range good {
		v, _ := url.ParseQuery(c.raw)
		got, err := ParseQuery(v)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseQuery(%q) = %+v, %v; want %+v", c.raw, got, err, c.want)
		}
	}
	bad := []struct{ raw, field string }{
		{"types=vm", "types"},
		{"limit=5", "limit"},
		{"type=vm,,host", "type"},
		{"type=v-m", "type[0]"},
		{"vars=a&vars=b.c", "vars[1]"},
		{"team=a&team=b", "team"},
		{"team=", "team"},
		{"filter=role=web&filter=cpus>", "filter[1]"},
		{"filter=role=", "filter[0]"},
		{"filter=role=a,,b", "filter[0]"},
		{"filter=" + url.QueryEscape(`role=a\`), "filter[0]"},
		{"filter=-x=1", "filter[0]"},
		{"filter=!", "filter[0]"},
		{"filter=a b", "filter[0]"},
		{"owner=", "owner"},
	}
	for _, c := range bad {
		v, _ := url.ParseQuery(c.raw)
		_, err := ParseQuery(v)
		if err == nil || !strings.HasPrefix(err.Error(), c.field+":") && !strings.Contains(err.Error(), "field "+c.field) {
			t.Errorf("ParseQuery(%q) = %v; want an error naming %s", c.raw, err, c.field)
		}
	}
	many := url.Values{"filter": slices.Repeat([]string{"ip"}, maxQueryFilters+1)}
	if _, err := ParseQuery(many); err == nil {
		t.Errorf("%d filters accepted", maxQueryFilters+1)
	}
}

// FuzzParseQuery checks that the parser never panics, and that what it
// accepts encodes to a query it reads back the same.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"", "type=vm&vars=a,b", "filter=role=web,db", `filter=tags=a\,b`, "filter=cpus>=4&filter=!owner&filter=ip",
		"owner=a&team=ops", "filter=a~x,y", "filter=a>==x", "x=1", "filter=%5C"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := ParseQuery(v)
		if err != nil {
			return
		}
		v2, err := url.ParseQuery(q.Encode())
		if err != nil {
			t.Fatalf("Encode(%+v) = %q: %v", q, q.Encode(), err)
		}
		q2, err := ParseQuery(v2)
		if err != nil || !reflect.DeepEqual(q, q2) {
			t.Fatalf("%q: parsed %+v, encoded %q, read back %+v (%v)", raw, q, q.Encode(), q2, err)
		}
	})
}

// get asks h for target with the given If-None-Match.
func get(h http.Handler, target, inm string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, target, nil)
	if inm != "" {
		req.Header.Set("If-None-Match", inm)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestQueryNarrows(t *testing.T) {
	forEach(t, func(t *testing.T, s *inventory.Store) {
		seed(t, s)
		inv, err := New(s, testOptions())
		if err != nil {
			t.Fatal(err)
		}
		by := inventory.By{Actor: "admin"}
		if _, err := s.CreateTeam(ctx, by, inventory.Team{Name: "ops"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateUser(ctx, by, inventory.User{Name: "alice"}); err != nil {
			t.Fatal(err)
		}
		if err := s.AddTeamMember(ctx, by, "ops", "alice"); err != nil {
			t.Fatal(err)
		}
		h := Handler(inv)
		full := get(h, "/ansible/inventory", "").Body.String()
		cases := []struct {
			query string
			hosts []string
		}{
			{"", []string{"db01", "web01", "web02"}},
			{"type=vm", []string{"db01", "web01", "web02"}},
			{"filter=role=web", []string{"web01", "web02"}},
			{"filter=role=web,db&filter=cluster=prod01", []string{"web01", "web02"}},
			{"filter=tags=frontend", []string{"web01"}},
			{"filter=cpus>=2", []string{"web01"}},
			{"filter=!ip", []string{"db01"}},
			{"filter=ip", []string{"web01", "web02"}},
			{"filter=name=db01", []string{"db01"}},
			{"owner=alice", []string{"web01"}},
			{"team=ops", []string{"web01"}},
			{"team=ops&filter=role=db", nil},
		}
		for _, c := range cases {
			rec := get(h, "/ansible/inventory?"+c.query, "")
			if rec.Code != 200 {
				t.Errorf("?%s = %d %s", c.query, rec.Code, rec.Body)
				continue
			}
			got := parseList(t, rec.Body.Bytes())
			if hosts := sortedKeys(got.Meta.Hostvars); !slices.Equal(hosts, c.hosts) && len(hosts)+len(c.hosts) > 0 {
				t.Errorf("?%s lists %v, want %v", c.query, hosts, c.hosts)
			}
			if c.query == "" && rec.Body.String() != full {
				t.Errorf("no query differs from the plain list")
			}
		}
		rec := get(h, "/ansible/inventory?filter=role=web&vars=role,cluster_datacenter", "")
		got := parseList(t, rec.Body.Bytes())
		if vars := sortedKeys(got.Meta.Hostvars["web01"]); !slices.Equal(vars, []string{"ansible_host", "cluster_datacenter", "role"}) {
			t.Errorf("vars=role,cluster_datacenter gives web01 %v", vars)
		}
		if g := got.Groups["webservers"]; !slices.Equal(g.Hosts, []string{"web01", "web02"}) || g.Vars["http_port"] != 8080.0 {
			t.Errorf("groups are not made from the narrowed hosts: webservers = %+v", g)
		}
		if len(rec.Body.String()) >= len(full)*2/3 {
			t.Errorf("narrowed inventory is %d bytes of %d", len(rec.Body.String()), len(full))
		}
		for query, field := range map[string]string{
			"type=host":                    "type[0]",
			"filter=nosuch=1":              "filter[0]",
			"filter=cpus=two":              "filter[0]",
			"filter=root_password=hunter2": "filter[0]",
			"filter=annotation=x":          "filter[0]",
			"vars=root_password":           "vars[0]",
			"vars=nosuch":                  "vars[0]",
			"team=nosuch":                  "team",
			"bogus=1":                      "bogus",
			"host=web01&vars=role":         "vars",
		} {
			rec := get(h, "/ansible/inventory?"+query, "")
			if rec.Code != 400 || !strings.Contains(rec.Body.String(), `"`+field+": ") {
				t.Errorf("?%s = %d %s; want 400 naming %s", query, rec.Code, rec.Body, field)
			}
		}
	})
}

func TestETag(t *testing.T) {
	s := inventoryOn(t, "sqlite:"+t.TempDir()+"/tana.db")
	seed(t, s)
	inv, err := New(s, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	h := Handler(inv)
	first := get(h, "/ansible/inventory", "")
	etag := first.Header().Get("ETag")
	if first.Code != 200 || !strings.HasPrefix(etag, `"`) || strings.HasPrefix(etag, "W/") {
		t.Fatalf("GET = %d, ETag %q; want 200 with a strong ETag", first.Code, etag)
	}
	if cc := first.Header().Get("Cache-Control"); !strings.Contains(cc, "private") {
		t.Errorf("Cache-Control = %q, want private", cc)
	}
	for _, inm := range []string{etag, `"x", ` + etag, "W/" + etag, "*"} {
		if rec := get(h, "/ansible/inventory", inm); rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
			t.Errorf("If-None-Match %s = %d (%d bytes), want 304 and no body", inm, rec.Code, rec.Body.Len())
		}
	}
	if rec := get(h, "/ansible/inventory", `"other"`); rec.Code != 200 || rec.Body.String() != first.Body.String() {
		t.Errorf("a stale ETag = %d, want 200 and the inventory", rec.Code)
	}
	narrowed := get(h, "/ansible/inventory?filter=role=web", etag)
	if narrowed.Code != 200 || narrowed.Header().Get("ETag") == etag {
		t.Errorf("a narrowed list = %d with ETag %q: must differ from the whole list's", narrowed.Code, narrowed.Header().Get("ETag"))
	}
	e, err := s.GetByName(ctx, "vm", "web02")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, inventorytest.Meta("t"), e.ID, inventory.Patch{Version: e.Version, Attrs: map[string]any{"role": "db"}}); err != nil {
		t.Fatal(err)
	}
	after := get(h, "/ansible/inventory", etag)
	if after.Code != 200 || after.Header().Get("ETag") == etag {
		t.Errorf("after a change: %d, ETag %q; want 200 with a new ETag", after.Code, after.Header().Get("ETag"))
	}
}

// TestSpool checks that a response larger than the memory part spills
// to a file and comes back whole.
func TestSpool(t *testing.T) {
	sp := &spool{limit: 10}
	defer sp.close()
	for _, p := range []string{"0123456", "789ab", "cdef"} {
		if _, err := sp.Write([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	if sp.file == nil {
		t.Fatal("16 bytes over a limit of 10 stayed in memory")
	}
	var b strings.Builder
	if err := sp.writeTo(&b); err != nil || b.String() != "0123456789abcdef" || sp.size != 16 {
		t.Errorf("spool gave back %q (%d), %v", b.String(), sp.size, err)
	}
}

// prodOnly is a caller that may read the VMs of cluster prod01 only, all
// their attributes but owner.
type prodOnly struct{}

func (prodOnly) Rows(typ string) *inventory.AccessFilter {
	return &inventory.AccessFilter{Allow: [][]inventory.Filter{{{Attr: "cluster", Op: inventory.OpEq, Values: []any{"prod01"}}}}}
}
func (prodOnly) AttrRule(typ, attr string) (bool, bool)        { return attr != "owner", false }
func (prodOnly) CanRead(en *inventory.Entry, attr string) bool { return attr != "owner" }

// TestQueryKeepsAccess checks that a query narrows what the caller may
// see and never widens it, on both stores: the filters join the caller's
// access filter in one SQL condition.
func TestQueryKeepsAccess(t *testing.T) {
	forEach(t, func(t *testing.T, s *inventory.Store) {
		seed(t, s)
		inv, err := New(s, testOptions())
		if err != nil {
			t.Fatal(err)
		}
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			Handler(inv).ServeHTTP(w, r.WithContext(WithVisibility(r.Context(), prodOnly{})))
		})
		for query, want := range map[string][]string{
			"":                   {"web01", "web02"},
			"filter=role=web,db": {"web01", "web02"},
			"filter=role=db":     nil,
			"filter=name=db01":   nil,
			"filter=cpus>=2":     {"web01"},
		} {
			rec := get(h, "/ansible/inventory?"+query, "")
			if rec.Code != 200 {
				t.Errorf("?%s = %d %s", query, rec.Code, rec.Body)
				continue
			}
			if hosts := sortedKeys(parseList(t, rec.Body.Bytes()).Meta.Hostvars); !slices.Equal(hosts, want) && len(hosts)+len(want) > 0 {
				t.Errorf("prod01's caller with ?%s sees %v, want %v", query, hosts, want)
			}
		}
		for query, field := range map[string]string{"vars=owner": "vars[0]", "filter=owner=alice": "filter[0]", "owner=alice": "owner", "filter=!owner": "filter[0]"} {
			if rec := get(h, "/ansible/inventory?"+query, ""); rec.Code != 400 || !strings.Contains(rec.Body.String(), `"`+field+": ") {
				t.Errorf("?%s for a caller who may not read owner = %d %s, want 400 naming %s", query, rec.Code, rec.Body, field)
			}
		}
	})
}
