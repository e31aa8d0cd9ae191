package schema

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"unicode/utf8"
)

// Attribute values are JSON wherever they are kept or sent: entries.attrs,
// the history, the Ansible inventory. These encoders write what
// encoding/json writes, without reflection: values are strings, int64,
// float64, bool and lists of them, and they are encoded on the hot paths
// (a bulk import, a 100,000-host inventory). Unlike encoding/json they
// leave <, > and & unescaped: the output is never embedded in HTML.

const hexDigits = "0123456789abcdef"

// AppendJSON appends v as JSON. Maps get sorted keys; types other than
// the value types go through encoding/json, whose error is returned.
func AppendJSON(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return AppendJSONString(b, x), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case float64:
		return AppendJSONFloat(b, x), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case []any:
		b = append(b, '[')
		for i, it := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = AppendJSON(b, it); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	case []string:
		b = append(b, '[')
		for i, it := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendJSONString(b, it)
		}
		return append(b, ']'), nil
	case map[string]any:
		return AppendJSONObject(b, x, AppendJSON)
	}
	data, err := json.Marshal(v)
	if err != nil {
		return b, err
	}
	return append(b, data...), nil
}

// AppendJSONObject appends m as a JSON object with sorted keys, each value
// written by value.
func AppendJSONObject[V any](b []byte, m map[string]V, value func([]byte, V) ([]byte, error)) ([]byte, error) {
	return AppendJSONObjectIf(b, m, nil, value)
}

// AppendJSONObjectIf is AppendJSONObject of the entries keep accepts (all
// if keep is nil), without copying the map.
func AppendJSONObjectIf[V any](b []byte, m map[string]V, keep func(string, V) bool, value func([]byte, V) ([]byte, error)) ([]byte, error) {
	var buf [32]string
	keys := buf[:0]
	for k, v := range m {
		if keep == nil || keep(k, v) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return AppendJSONKeys(b, keys, func(b []byte, k string) ([]byte, error) { return value(b, m[k]) })
}

// AppendJSONKeys appends a JSON object of keys, in their order, each value
// written by value.
func AppendJSONKeys(b []byte, keys []string, value func(b []byte, key string) ([]byte, error)) ([]byte, error) {
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendJSONString(b, k)
		b = append(b, ':')
		var err error
		if b, err = value(b, k); err != nil {
			return b, fmt.Errorf("%s: %w", k, err)
		}
	}
	return append(b, '}'), nil
}

// AppendJSONString appends s as a JSON string, escaped as encoding/json
// escapes it (invalid UTF-8 becomes U+FFFD), HTML characters aside.
func AppendJSONString(b []byte, s string) []byte {
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

// AppendJSONFloat formats f as encoding/json does: plain notation in a
// middle range, exponent notation outside it. NaN and infinities, which
// JSON cannot hold and number attributes refuse, are written as null.
func AppendJSONFloat(b []byte, f float64) []byte {
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
