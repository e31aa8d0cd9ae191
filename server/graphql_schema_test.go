package server

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/graphql-go/graphql"

	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/schema"
)

func fieldsOf(t *testing.T, sch *graphql.Schema, typ string) graphql.FieldDefinitionMap {
	t.Helper()
	o, ok := sch.Type(typ).(*graphql.Object)
	if !ok {
		t.Fatalf("no object %s", typ)
	}
	return o.Fields()
}

func TestGeneratedSchema(t *testing.T) {
	link := &schema.EntityType{Name: "host_link", Attributes: []*schema.Attribute{
		{Name: "a", TypeName: "ref:host"}, {Name: "b", TypeName: "ref:host"}, {Name: "weight", TypeName: "number"},
		{Name: "since", TypeName: "date"}, {Name: "peers", TypeName: "list:ref:vm"},
	}}
	reg, err := schema.NewRegistry(append(schema.Builtin(), link)...)
	if err != nil {
		t.Fatal(err)
	}
	sch, err := buildSchema(reg, Options{Limits: withDefaults(Options{}.Limits)})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ typ, field, want string }{
		{"Vm", "host", "Host"},
		{"Vm", "cpus", "Int"},
		{"Vm", "diskGb", "Float"},
		{"Vm", "template", "Boolean"},
		{"Vm", "ips", "[String!]"},
		{"Vm", "datastores", "[Datastore!]!"},
		{"Vm", "version", "Int!"},
		{"Host", "attrVersion", "String"}, // host.version next to the entry version
		{"Host", "vms", "[Vm!]!"},
		{"Host", "hostLinksByA", "[HostLink!]!"},
		{"Host", "hostLinksByB", "[HostLink!]!"},
		{"Cluster", "hosts", "[Host!]!"},
		{"Datastore", "vms", "[Vm!]!"},
		{"DnsZone", "dnsRecords", "[DnsRecord!]!"},
		{"HostLink", "weight", "Float"},
		{"Query", "dnsRecord", "DnsRecord"},
		{"Query", "dnsRecords", "DnsRecordConnection!"},
		{"Query", "hostLinks", "HostLinkConnection!"},
		{"Query", "entries", "EntryConnection!"},
		{"Mutation", "createDnsRecord", "DnsRecord"},
		{"Mutation", "updateVm", "Vm"},
		{"Mutation", "upsertEntries", "[WriteResult!]!"},
	}
	for _, c := range cases {
		f := fieldsOf(t, sch, c.typ)[c.field]
		if f == nil {
			t.Errorf("%s.%s missing", c.typ, c.field)
			continue
		}
		if got := f.Type.String(); got != c.want {
			t.Errorf("%s.%s: %s, want %s", c.typ, c.field, got, c.want)
		}
	}
	filter := sch.Type("HostLinkFilter").(*graphql.InputObject).Fields()
	for field, want := range map[string]string{"weight": "FloatFilter", "since": "DateFilter", "a": "RefFilter", "name": "StringFilter"} {
		if filter[field] == nil || filter[field].Type.String() != want {
			t.Errorf("HostLinkFilter.%s: want %s", field, want)
		}
	}
}

func TestExtraFields(t *testing.T) {
	s := inventorytest.Open(t, "sqlite")
	extra := graphql.Fields{"drift": {Type: graphql.String, Resolve: func(p graphql.ResolveParams) (any, error) {
		name, role := Principal(p.Context)
		return name + "/" + role, nil
	}}}
	ts := start(t, s, func(o *Options) {
		o.ExtraQueries = extra
		o.ExtraMutations = graphql.Fields{"applyPlan": {Type: graphql.String, Resolve: func(p graphql.ResolveParams) (any, error) {
			return nil, CodedError(schema.FieldErrorf(schema.ESTALE, "id", "plan is stale"))
		}}}
	})
	var out struct{ Drift string }
	ts.query(t, `{ drift }`, nil, &out)
	if out.Drift != "anonymous/writer" {
		t.Fatalf("extra query: %q", out.Drift)
	}
	r := ts.do(t, "", `mutation { applyPlan }`, nil)
	if r.code() != "STALE" || r.Errors[0].Extensions["field"] != "id" {
		t.Fatalf("extra mutation error: %+v", r.Errors)
	}
	if err := ts.Rebuild(); err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	ts.query(t, `{ drift vms { totalCount } }`, nil, &out)
	if _, err := New(Options{Store: s, ExtraQueries: graphql.Fields{"vms": {Type: graphql.String}}}); err == nil {
		t.Fatal("an extra field may not replace a generated one")
	}
}

// TestRequestLogAndTimeout checks the request log (no Authorization) and
// the request time limit.
func TestRequestLogAndTimeout(t *testing.T) {
	s := inventorytest.Open(t, "sqlite")
	seed(t, s, 3)
	var logs bytes.Buffer
	ts := start(t, s, func(o *Options) {
		o.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
		o.Limits.RequestTimeout = 1 // nanosecond
	})
	secret, _, err := s.CreateToken(context.Background(), "w", "writer")
	if err != nil {
		t.Fatal(err)
	}
	r := ts.do(t, secret, `{ vms { totalCount } }`, nil)
	if r.Status != http.StatusOK || len(r.Errors) == 0 || r.code() != "TIMEOUT" {
		t.Fatalf("timeout: %d %+v", r.Status, r.Errors)
	}
	ts.Close(t)
	l := logs.String()
	for _, want := range []string{`"msg":"http request"`, `"method":"POST"`, `"path":"/graphql"`, `"status":200`, `"duration"`} {
		if !strings.Contains(l, want) {
			t.Errorf("log lacks %s: %s", want, l)
		}
	}
	if strings.Contains(l, secret) || strings.Contains(l, "Bearer") {
		t.Fatalf("log shows the token: %s", l)
	}
}

// TestEntryFieldsAreTheReservedNames: the fields every entry object has
// are exactly the names schema refuses for attributes.
func TestEntryFieldsAreTheReservedNames(t *testing.T) {
	reg, err := schema.NewRegistry(schema.Builtin()...)
	if err != nil {
		t.Fatal(err)
	}
	sch, err := buildSchema(reg, Options{Limits: withDefaults(Options{}.Limits)})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for name := range fieldsOf(t, sch, "Entry") {
		got = append(got, name)
	}
	want := schema.EntryFields()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("Entry fields %v, schema's entry fields %v", got, want)
	}
}
