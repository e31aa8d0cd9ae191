package ansible

import (
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The inventory is written by appending to reused byte buffers rather than
// through encoding/json: hostvars are the hot path (100,000 hosts × 30
// values), and the store only holds strings, int64, float64, bool and
// lists of them, whose JSON is simple.

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaping as encoding/json does
// (except HTML characters, which need no escaping here).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendValue appends a stored value as JSON. Maps (group vars from
// tana.yaml) get sorted keys; anything unexpected goes through
// encoding/json.
func appendValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return appendString(b, x)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case float64:
		return appendFloat(b, x)
	case bool:
		return strconv.AppendBool(b, x)
	case []any:
		b = append(b, '[')
		for i, it := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendValue(b, it)
		}
		return append(b, ']')
	case []string:
		b = append(b, '[')
		for i, it := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, it)
		}
		return append(b, ']')
	case map[string]any:
		return appendObject(b, x)
	case cmdbValue:
		return appendCMDBValue(b, x.v, false)
	}
	data, err := json.Marshal(v)
	if err != nil {
		return appendString(b, "!unencodable: "+err.Error())
	}
	return append(b, data...)
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

// appendObject appends m as a JSON object with sorted keys.
func appendObject(b []byte, m map[string]any) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = appendValue(b, m[k])
	}
	return append(b, '}')
}

// appendFloat formats as encoding/json does: plain notation in a middle
// range, exponent notation outside it.
func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-09 → e-9, as encoding/json writes it.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}
