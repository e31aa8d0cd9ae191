package ansible

import (
	"strings"

	"github.com/tana-cmdb/tana/schema"
)

// The inventory is written by appending to reused byte buffers with
// schema's JSON encoders rather than through encoding/json: hostvars are
// the hot path (100,000 hosts × 30 values).

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte { return schema.AppendJSONString(b, s) }

// appendValue appends a value as JSON: a group var from the store with
// appendCMDBValue, anything else (tana.yaml vars, maps with sorted keys) as
// schema.AppendJSON writes it.
func appendValue(b []byte, v any) []byte {
	if x, ok := v.(cmdbValue); ok {
		return appendCMDBValue(b, x.v, false)
	}
	out, err := schema.AppendJSON(b, v)
	if err != nil {
		return appendString(b, "!unencodable: "+err.Error())
	}
	return out
}

// cmdbValue marks a group var that came from the store (not from
// tana.yaml), to be written with appendCMDBValue.
type cmdbValue struct{ v any }

// appendCMDBValue appends a value from the store. Unless templates are
// allowed, a string that Jinja2 would template ({{ }}, {% %}, {# #}) is
// wrapped as {"__ansible_unsafe": …}, which Ansible's JSON loader turns
// into unsafe text: a VM annotation typed in vCenter must not run lookups
// in a playbook.
func appendCMDBValue(b []byte, v any, allowTemplates bool) []byte {
	switch x := v.(type) {
	case string:
		return appendCMDBString(b, x, allowTemplates)
	case []any:
		b = append(b, '[')
		for i, it := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendCMDBValue(b, it, allowTemplates)
		}
		return append(b, ']')
	}
	return appendValue(b, v)
}

// appendCMDBString is appendCMDBValue of a string.
func appendCMDBString(b []byte, s string, allowTemplates bool) []byte {
	if allowTemplates || !templated(s) {
		return appendString(b, s)
	}
	b = append(b, `{"__ansible_unsafe":`...)
	return append(appendString(b, s), '}')
}

// templated reports whether s holds a Jinja2 block, expression or comment
// opener.
func templated(s string) bool {
	for i := strings.IndexByte(s, '{'); i >= 0 && i+1 < len(s); {
		switch s[i+1] {
		case '{', '%', '#':
			return true
		}
		j := strings.IndexByte(s[i+1:], '{')
		if j < 0 {
			return false
		}
		i += 1 + j
	}
	return false
}

// appendObject appends group vars as a JSON object with sorted keys.
func appendObject(b []byte, m map[string]any) []byte {
	out, _ := schema.AppendJSONObject(b, m, func(b []byte, v any) ([]byte, error) { return appendValue(b, v), nil })
	return out
}
