package schema

import (
	"strings"
	"testing"
)

// TestAttributeNamesTheAPIUsesAreRefused: an attribute named like an
// entry field (version, status, …, in any spelling the API names the same)
// or named like another attribute in the API would vanish from GraphQL
// inputs or shadow a field; the type loader refuses it with file, line
// and field.
func TestAttributeNamesTheAPIUsesAreRefused(t *testing.T) {
	cases := []struct{ attrs, want string }{
		{"{name: version, type: string}", `svc.yaml:4: service.attributes[0].name: "version" is reserved: every entry has the field version`},
		{"{name: status, type: string}", `"status" is reserved`},
		{"{name: created_at, type: datetime}", `"created_at" is reserved: every entry has the field createdAt`},
		{"{name: deleted_reason, type: string}", `"deleted_reason" is reserved`},
		{"{name: attrs, type: text}", `"attrs" is reserved`},
		{"{name: id, type: integer}", `"id" is reserved`},
		{"{name: status_, type: string}", `"status_" is reserved`},
		{"{name: created__at, type: string}", `"created__at" is reserved`},
		{"{name: ip6, type: ip}\n      - {name: ip_6, type: ip}", `svc.yaml:5: service.attributes[1].name: "ip6" and "ip_6" are both ip6 in the GraphQL API`},
	}
	for _, c := range cases {
		t.Run(c.want, func(t *testing.T) {
			_, err := ParseTypes("svc.yaml", []byte("types:\n  - name: service\n    attributes:\n      - "+c.attrs+"\n"))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
		})
	}
}

// TestBuiltinHostVersionKeepsItsName: host.version predates the rule; it
// is attrVersion in the API, and a user attribute cannot take that name.
func TestBuiltinHostVersionKeepsItsName(t *testing.T) {
	reg, err := NewRegistry(Builtin()...)
	if err != nil {
		t.Fatal(err)
	}
	host, _ := reg.Type("host")
	if got := host.Attr("version").FieldName(); got != "attrVersion" {
		t.Errorf("host.version is %s in the API", got)
	}
	user, err := ParseTypes("host.yaml", []byte("types:\n  - name: host\n    attributes:\n      - {name: attr_version, type: string}\n"))
	if err != nil {
		t.Fatal(err)
	}
	merged, err := merge(Builtin(), user)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewRegistry(merged...); err == nil || !strings.Contains(err.Error(), `"version" and "attr_version" are both attrVersion`) {
		t.Fatalf("got %v", err)
	}
}
