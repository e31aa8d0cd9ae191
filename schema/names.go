package schema

import (
	"fmt"
	"strings"
)

// entryFields are the fields every entry has in tana's APIs, as the
// generated GraphQL schema names them (Entry and every typed object). An
// attribute may not take one of these names, in any spelling that comes
// out the same (status, status_): it would shadow the field or vanish
// from the typed inputs. host.version is older than this rule; the API
// shows it as attrVersion.
var entryFields = map[string]bool{
	"id": true, "name": true, "type": true, "version": true, "status": true, "createdAt": true,
	"updatedAt": true, "deletedAt": true, "deletedReason": true, "attrs": true,
}

// IsEntryField reports whether field (a GraphQL field name) is one every
// entry has.
func IsEntryField(field string) bool { return entryFields[field] }

// EntryFields returns the fields every entry has, for the API to check
// its generated objects against.
func EntryFields() []string {
	out := make([]string, 0, len(entryFields))
	for f := range entryFields {
		out = append(out, f)
	}
	return out
}

// FieldName is the attribute's name in the GraphQL API: memory_mb →
// memoryMb; one named like an entry field gets the prefix attr (only
// built-in attributes may: host.version → attrVersion).
func (a *Attribute) FieldName() string {
	n := CamelCase(a.Name)
	if entryFields[n] {
		n = "attr" + PascalCase(a.Name)
	}
	return n
}

// PascalCase turns a schema name into a GraphQL type name: dns_record →
// DnsRecord.
func PascalCase(s string) string {
	var b strings.Builder
	for _, part := range strings.Split(s, "_") {
		if part == "" {
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

// CamelCase turns a schema name into a GraphQL field name: memory_mb →
// memoryMb.
func CamelCase(s string) string {
	p := PascalCase(s)
	if p == "" {
		return p
	}
	return strings.ToLower(p[:1]) + p[1:]
}

// checkFieldNames refuses attributes whose API names collide: with an
// entry field, or with each other (ip_6 and ip6 are both ip6).
func (t *EntityType) checkFieldNames() error {
	seen := make(map[string]string, len(t.Attributes))
	for i, a := range t.Attributes {
		field := CamelCase(a.Name)
		if entryFields[field] && !a.builtin {
			return FieldErrorf(EINVALID, fmt.Sprintf("attributes[%d].name", i), "%q is reserved: every entry has the field %s", a.Name, field)
		}
		fn := a.FieldName()
		if other, ok := seen[fn]; ok {
			return FieldErrorf(EINVALID, fmt.Sprintf("attributes[%d].name", i), "%q and %q are both %s in the GraphQL API", other, a.Name, fn)
		}
		seen[fn] = a.Name
	}
	return nil
}
