package server

import (
	"strings"

	"github.com/tana-cmdb/tana/schema"
)

// pascal and camel are schema's: the type loader refuses attribute names
// whose GraphQL names collide, so it must name them as the schema does.
func pascal(s string) string { return schema.PascalCase(s) }

func camel(s string) string { return schema.CamelCase(s) }

// plural is English enough for type names: vm → vms, dns_zone_alias →
// dns_zone_aliases, policy → policies.
func plural(s string) string {
	switch {
	case strings.HasSuffix(s, "s"), strings.HasSuffix(s, "x"), strings.HasSuffix(s, "z"),
		strings.HasSuffix(s, "ch"), strings.HasSuffix(s, "sh"):
		return s + "es"
	case strings.HasSuffix(s, "y") && len(s) > 1 && !strings.ContainsRune("aeiou", rune(s[len(s)-2])):
		return s[:len(s)-1] + "ies"
	}
	return s + "s"
}
