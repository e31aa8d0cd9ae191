package ansible

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/tana-cmdb/tana/schema"
)

// Hostvars are mostly the store's attribute JSON written back out, so a
// host's stored JSON is not decoded into a map: it is cut into one raw
// value per attribute (a "slot"), copied as it is when written, and decoded
// only for the few attributes that name groups or decide inclusion.

// eachMember calls fn with every top-level key and raw value of the JSON
// object s. It reports false for anything but a well-formed object.
func eachMember(s string, fn func(key, raw string)) bool {
	i := skipSpace(s, 0)
	if i >= len(s) || s[i] != '{' {
		return false
	}
	i = skipSpace(s, i+1)
	if i < len(s) && s[i] == '}' {
		return skipSpace(s, i+1) == len(s)
	}
	for {
		end, ok := skipString(s, i)
		if !ok {
			return false
		}
		key := s[i+1 : end-1]
		if strings.IndexByte(key, '\\') >= 0 {
			if key = unquote(s[i:end]); key == "" {
				return false
			}
		}
		i = skipSpace(s, end)
		if i >= len(s) || s[i] != ':' {
			return false
		}
		i = skipSpace(s, i+1)
		end, ok = skipValue(s, i)
		if !ok {
			return false
		}
		fn(key, s[i:end])
		i = skipSpace(s, end)
		if i >= len(s) {
			return false
		}
		switch s[i] {
		case '}':
			return skipSpace(s, i+1) == len(s)
		case ',':
			i = skipSpace(s, i+1)
		default:
			return false
		}
	}
}

// unquote decodes a JSON string with escapes ("" when malformed).
func unquote(raw string) string {
	var s string
	if json.Unmarshal([]byte(raw), &s) != nil {
		return ""
	}
	return s
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the end of the JSON string starting at s[i]. A quote
// ends it unless an odd number of backslashes precede it.
func skipString(s string, i int) (int, bool) {
	if i >= len(s) || s[i] != '"' {
		return 0, false
	}
	start := i + 1
	for j := start; ; {
		k := strings.IndexByte(s[j:], '"')
		if k < 0 {
			return 0, false
		}
		k += j
		n := 0
		for p := k - 1; p >= start && s[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
			return k + 1, true
		}
		j = k + 1
	}
}

// skipValue returns the end of the JSON value starting at s[i]. Nested
// values are only skipped, not checked: the store wrote them.
func skipValue(s string, i int) (int, bool) {
	if i >= len(s) {
		return 0, false
	}
	switch s[i] {
	case '"':
		return skipString(s, i)
	case '[', '{':
		depth := 0
		for i < len(s) {
			switch s[i] {
			case '"':
				end, ok := skipString(s, i)
				if !ok {
					return 0, false
				}
				i = end
				continue
			case '[', '{':
				depth++
			case ']', '}':
				depth--
				if depth == 0 {
					return i + 1, true
				}
			}
			i++
		}
		return 0, false
	}
	j := i
scan:
	for ; j < len(s); j++ {
		switch s[j] {
		case ',', ']', '}', ' ', '\n', '\t', '\r':
			break scan
		}
	}
	return j, j > i
}

// eachElement calls fn with every raw element of the JSON array s.
func eachElement(s string, fn func(raw string)) bool {
	i := skipSpace(s, 1)
	if i < len(s) && s[i] == ']' {
		return true
	}
	for i < len(s) {
		end, ok := skipValue(s, i)
		if !ok {
			return false
		}
		fn(s[i:end])
		i = skipSpace(s, end)
		if i < len(s) && s[i] == ']' {
			return true
		}
		if i >= len(s) || s[i] != ',' {
			return false
		}
		i = skipSpace(s, i+1)
	}
	return false
}

// decodeRaw decodes one stored value: strings, int64 for integer
// attributes, float64 for other numbers, bools and lists of these, as the
// store's decoder does.
func decodeRaw(raw string, kind schema.Kind) any {
	if raw == "" {
		return nil
	}
	switch c := raw[0]; {
	case c == '"':
		if s := raw[1 : len(raw)-1]; strings.IndexByte(s, '\\') < 0 {
			return s
		}
		var s string
		if json.Unmarshal([]byte(raw), &s) != nil {
			return nil
		}
		return s
	case c == 't' && raw == "true":
		return true
	case c == 'f' && raw == "false":
		return false
	case c == 'n':
		return nil
	case c == '-' || c >= '0' && c <= '9':
		if kind == schema.KindInteger {
			if n, err := strconv.ParseInt(raw, 10, 64); err == nil {
				return n
			}
		}
		f, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return nil
		}
		return f
	case c == '[':
		l := []any{}
		eachElement(raw, func(el string) { l = append(l, decodeRaw(el, kind)) })
		return l
	}
	var v any
	if json.Unmarshal([]byte(raw), &v) != nil {
		return nil
	}
	return v
}

// appendRaw appends a stored value, byte for byte as appendCMDBValue would
// write its decoded form: copied when it is plain, re-encoded when it
// holds escapes or, unless templates are allowed, Jinja2 markers.
func appendRaw(b []byte, raw string, kind schema.Kind, allowTemplates bool) []byte {
	switch raw[0] {
	case '"':
		s := raw[1 : len(raw)-1]
		if strings.IndexByte(s, '\\') < 0 && (allowTemplates || !templated(s)) {
			return append(b, raw...)
		}
		return appendCMDBValue(b, decodeRaw(raw, kind), allowTemplates)
	case '[':
		b = append(b, '[')
		n := 0
		eachElement(raw, func(el string) {
			if n > 0 {
				b = append(b, ',')
			}
			n++
			b = appendRaw(b, el, kind, allowTemplates)
		})
		return append(b, ']')
	case '{':
		return appendCMDBValue(b, decodeRaw(raw, kind), allowTemplates)
	}
	return append(b, raw...)
}
