package server

import (
	"context"
	"sort"
	"testing"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
)

type vmNode struct {
	ID         string
	Name       string
	Version    int
	Cpus       int
	PowerState string
	IP         string
	Tags       []string
	Host       *struct {
		Name    string
		Cluster struct{ Name string }
	}
}

type vmConn struct {
	TotalCount int
	PageInfo   struct {
		HasNextPage bool
		EndCursor   string
	}
	Edges []struct {
		Cursor string
		Node   vmNode
	}
}

func TestTypedQueries(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		seed(t, s, 20)
		ts := start(t, s)

		t.Run("lookup by id and name", func(t *testing.T) {
			var byName struct{ Vm vmNode }
			ts.query(t, `{ vm(name: "vm007") { id name cpus powerState ip tags host { name cluster { name } } } }`, nil, &byName)
			v := byName.Vm
			if v.Cpus != 8 || v.PowerState != "poweredOff" || v.IP != "10.0.0.8" || len(v.Tags) != 1 || v.Tags[0] != "t1" {
				t.Fatalf("attributes: %+v", v)
			}
			if v.Host == nil || v.Host.Name != "h3" || v.Host.Cluster.Name != "c2" {
				t.Fatalf("references: %+v", v.Host)
			}
			var byID struct{ Vm vmNode }
			ts.query(t, `query($id: ID!) { vm(id: $id) { name } }`, map[string]any{"id": v.ID}, &byID)
			if byID.Vm.Name != "vm007" {
				t.Fatalf("by id: %+v", byID)
			}
			r := ts.do(t, "", `{ host(id: `+v.ID+`) { name } }`, nil)
			if r.code() != "NOT_FOUND" {
				t.Fatalf("a vm id as a host: %+v", r.Errors)
			}
			r = ts.do(t, "", `{ vm(name: "nope") { name } }`, nil)
			if r.code() != "NOT_FOUND" || len(r.Errors[0].Path) == 0 {
				t.Fatalf("missing vm: %+v", r.Errors)
			}
		})

		t.Run("filters", func(t *testing.T) {
			cases := []struct {
				name, filter string
				want         int
			}{
				{"int gt", `{cpus: {gt: 6}}`, 4},
				{"int in", `{cpus: {in: [1, 2]}}`, 5},
				{"string eq", `{powerState: {eq: "poweredOn"}}`, 10},
				{"name contains", `{name: {contains: "VM01"}}`, 10},
				{"ref by name", `{host: {eq: "h1"}}`, 5},
				{"ref in", `{cluster: {in: ["c1"]}}`, 10},
				{"and", `{cluster: {eq: "c1"}, powerState: {eq: "poweredOn"}}`, 5},
				{"list element", `{tags: {eq: "t0"}}`, 6},
				{"is null", `{dnsName: {isNull: true}}`, 20},
				{"not null", `{ip: {isNull: false}}`, 20},
				{"ip eq", `{ip: {eq: "10.0.0.3"}}`, 1},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					var out struct{ Vms vmConn }
					ts.query(t, `{ vms(filter: `+c.filter+`, first: 100) { totalCount edges { node { name } } } }`, nil, &out)
					if out.Vms.TotalCount != c.want || len(out.Vms.Edges) != c.want {
						t.Fatalf("%s: total %d, edges %d, want %d", c.filter, out.Vms.TotalCount, len(out.Vms.Edges), c.want)
					}
				})
			}
			r := ts.do(t, "", `{ vms(filter: {ip: {eq: "not-an-ip"}}) { totalCount } }`, nil)
			if r.code() != "INVALID" {
				t.Fatalf("bad filter value: %+v", r.Errors)
			}
		})

		t.Run("pagination", func(t *testing.T) {
			for _, order := range []string{"NAME_ASC", "NAME_DESC", "ID_ASC", "ID_DESC"} {
				seen := map[string]bool{}
				var names []string
				after := ""
				for pages := 0; ; pages++ {
					if pages > 10 {
						t.Fatal("too many pages")
					}
					var out struct{ Vms vmConn }
					ts.query(t, `query($after: String, $order: EntryOrder) { vms(first: 3, after: $after, orderBy: $order) {
						pageInfo { hasNextPage endCursor } edges { cursor node { name } } } }`,
						map[string]any{"after": nullable(after), "order": order}, &out)
					for _, e := range out.Vms.Edges {
						if seen[e.Node.Name] {
							t.Fatalf("%s: %s twice", order, e.Node.Name)
						}
						seen[e.Node.Name] = true
						names = append(names, e.Node.Name)
					}
					if !out.Vms.PageInfo.HasNextPage {
						break
					}
					after = out.Vms.PageInfo.EndCursor
				}
				if len(names) != 20 {
					t.Fatalf("%s: %d entries across pages, want 20", order, len(names))
				}
				if order == "NAME_ASC" && !sort.StringsAreSorted(names) {
					t.Fatalf("not in name order: %v", names)
				}
			}
			// Any edge's cursor resumes after that edge.
			var all, rest struct{ Vms vmConn }
			ts.query(t, `{ vms(first: 5) { edges { cursor node { name } } } }`, nil, &all)
			ts.query(t, `query($a: String) { vms(first: 2, after: $a) { edges { node { name } } } }`, map[string]any{"a": all.Vms.Edges[1].Cursor}, &rest)
			if rest.Vms.Edges[0].Node.Name != all.Vms.Edges[2].Node.Name {
				t.Fatalf("edge cursor: %v after %v", rest.Vms.Edges[0].Node.Name, all.Vms.Edges[1].Node.Name)
			}
			r := ts.do(t, "", `{ vms(first: 100000) { totalCount } }`, nil)
			if r.code() != "INVALID" || r.Errors[0].Extensions["field"] != "first" {
				t.Fatalf("page too large: %+v", r.Errors)
			}
		})

		t.Run("references both ways", func(t *testing.T) {
			var out struct {
				Cluster struct {
					Name  string
					Hosts []struct {
						Name string
						Vms  []struct {
							Name string
							Host struct{ Name string }
						}
					}
					Vms        []struct{ Name string }
					Datacenter struct{ Clusters []struct{ Name string } }
				}
			}
			ts.query(t, `{ cluster(name: "c1") { name hosts { name vms { name host { name } } } vms { name } datacenter { clusters { name } } } }`, nil, &out)
			var few struct {
				Cluster struct{ Vms []struct{ Name string } }
			}
			ts.query(t, `{ cluster(name: "c1") { vms(first: 3) { name } } }`, nil, &few)
			if len(few.Cluster.Vms) != 3 || few.Cluster.Vms[0].Name != "vm001" {
				t.Fatalf("vms(first: 3): %+v", few)
			}
			c := out.Cluster
			if len(c.Hosts) != 2 || len(c.Vms) != 10 || len(c.Datacenter.Clusters) != 2 {
				t.Fatalf("got %+v", c)
			}
			for _, h := range c.Hosts {
				if len(h.Vms) != 5 {
					t.Fatalf("host %s has %d vms", h.Name, len(h.Vms))
				}
				for _, v := range h.Vms {
					if v.Host.Name != h.Name {
						t.Fatalf("vm %s of %s says host %s", v.Name, h.Name, v.Host.Name)
					}
				}
			}
		})

		t.Run("generic", func(t *testing.T) {
			var out struct {
				Entries struct {
					TotalCount int
					Nodes      []struct {
						Name  string
						Type  string
						Attrs map[string]any
					}
				}
				Types []struct {
					Name        string
					GraphqlType string
				}
			}
			ts.query(t, `{ entries(type: "host", filter: [{attr: "cluster", op: "eq", values: ["c2"]}]) { totalCount nodes { name type attrs } }
				types { name graphqlType } }`, nil, &out)
			if out.Entries.TotalCount != 2 || out.Entries.Nodes[0].Attrs["cluster"] != "c2" || out.Entries.Nodes[0].Attrs["version"] != "8.0" {
				t.Fatalf("entries: %+v", out.Entries)
			}
			found := false
			for _, ty := range out.Types {
				found = found || (ty.Name == "dns_record" && ty.GraphqlType == "DnsRecord")
			}
			if !found {
				t.Fatalf("types: %+v", out.Types)
			}
		})
	})
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// TestCursorMatchesStore pins the server's edge cursors to the store's.
func TestCursorMatchesStore(t *testing.T) {
	s := inventorytest.Open(t, "sqlite")
	seed(t, s, 5)
	for _, order := range []string{"name", "id"} {
		page, err := s.Find(context.Background(), inventory.Query{Type: "vm", Limit: 2, OrderBy: order})
		if err != nil {
			t.Fatal(err)
		}
		c := &connection{entries: page.Entries}
		if got := c.cursorAt(1); got != page.Next {
			t.Fatalf("order %s: cursor %v, store %v", order, got, page.Next)
		}
	}
}
