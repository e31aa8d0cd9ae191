package schema

import (
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Kind is the value type of an attribute, without the list or ref parts.
type Kind string

const (
	KindString   Kind = "string"
	KindText     Kind = "text"
	KindInteger  Kind = "integer"
	KindNumber   Kind = "number"
	KindBoolean  Kind = "boolean"
	KindDate     Kind = "date"
	KindDateTime Kind = "datetime"
	KindIP       Kind = "ip"
	KindCIDR     Kind = "cidr"
	KindMAC      Kind = "mac"
	KindFQDN     Kind = "fqdn"
	KindRef      Kind = "ref"
)

var kinds = map[Kind]bool{
	KindString: true, KindText: true, KindInteger: true, KindNumber: true,
	KindBoolean: true, KindDate: true, KindDateTime: true, KindIP: true,
	KindCIDR: true, KindMAC: true, KindFQDN: true, KindRef: true,
}

// ValueType is a parsed attribute type such as "integer", "list:ip" or
// "ref:host".
type ValueType struct {
	Kind    Kind
	List    bool
	RefType string // entity type name when Kind is KindRef
}

// ParseValueType parses "kind", "list:kind", "ref:type" or "list:ref:type".
func ParseValueType(s string) (ValueType, error) {
	var vt ValueType
	rest := strings.TrimSpace(s)
	if r, ok := strings.CutPrefix(rest, "list:"); ok {
		vt.List, rest = true, r
	}
	if r, ok := strings.CutPrefix(rest, "ref:"); ok {
		if r == "" || !validName(r) {
			return vt, fmt.Errorf("bad reference type %q in %q", r, s)
		}
		vt.Kind, vt.RefType = KindRef, r
		return vt, nil
	}
	if !kinds[Kind(rest)] || rest == string(KindRef) {
		return vt, fmt.Errorf("unknown value type %q (want string, text, integer, number, boolean, date, datetime, ip, cidr, mac, fqdn, ref:<type> or list:<one of these>)", s)
	}
	vt.Kind = Kind(rest)
	return vt, nil
}

func (vt ValueType) String() string {
	s := string(vt.Kind)
	if vt.Kind == KindRef {
		s = "ref:" + vt.RefType
	}
	if vt.List {
		s = "list:" + s
	}
	return s
}

// Normalize checks v against the type and returns its canonical form:
// string, int64, float64, bool or []any of these. Lists keep their order.
func (vt ValueType) Normalize(v any) (any, error) {
	if !vt.List {
		return normalizeScalar(vt.Kind, v)
	}
	items, ok := toList(v)
	if !ok {
		return nil, fmt.Errorf("expected a list of %s, got %s", vt.Kind, describe(v))
	}
	out := make([]any, 0, len(items))
	for i, it := range items {
		n, err := normalizeScalar(vt.Kind, it)
		if err != nil {
			return nil, fmt.Errorf("item %d: %w", i, err)
		}
		out = append(out, n)
	}
	return out, nil
}

func toList(v any) ([]any, bool) {
	switch l := v.(type) {
	case []any:
		return l, true
	case nil:
		return nil, false
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice || rv.Type().Elem().Kind() == reflect.Uint8 {
		return nil, false
	}
	out := make([]any, rv.Len())
	for i := range out {
		out[i] = rv.Index(i).Interface()
	}
	return out, true
}

func normalizeScalar(k Kind, v any) (any, error) {
	switch k {
	case KindString, KindText, KindRef:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("expected %s, got %s", k, describe(v))
		}
		if k == KindRef && s == "" {
			return nil, fmt.Errorf("empty reference")
		}
		return v, nil // v, not s: boxing s again would allocate
	case KindInteger:
		return toInt(v)
	case KindNumber:
		return toFloat(v)
	case KindBoolean:
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("expected boolean, got %s", describe(v))
		}
		return b, nil
	case KindDate:
		return normalizeTime(v, "2006-01-02", "date")
	case KindDateTime:
		return normalizeTime(v, time.RFC3339Nano, "datetime")
	case KindIP:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("expected ip address, got %s", describe(v))
		}
		n, err := NormalizeIP(s)
		if err != nil || n != s {
			return n, err
		}
		return v, nil
	case KindCIDR:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("expected cidr, got %s", describe(v))
		}
		p, err := netip.ParsePrefix(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("bad cidr %q", s)
		}
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()).Masked().String(), nil
	case KindMAC:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("expected mac address, got %s", describe(v))
		}
		return NormalizeMAC(s)
	case KindFQDN:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("expected fqdn, got %s", describe(v))
		}
		return NormalizeFQDN(s)
	}
	return nil, fmt.Errorf("unknown kind %q", k)
}

// NormalizeIP returns the canonical text of an IPv4 or IPv6 address.
func NormalizeIP(s string) (string, error) {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil || a.Zone() != "" {
		return "", fmt.Errorf("bad ip address %q", s)
	}
	var buf [64]byte
	if b := a.Unmap().AppendTo(buf[:0]); string(b) != s {
		return string(b), nil
	}
	return s, nil // already canonical: no copy
}

// NormalizeMAC returns a MAC address in lower case with colons.
func NormalizeMAC(s string) (string, error) {
	hw, err := net.ParseMAC(strings.TrimSpace(s))
	if err != nil {
		return "", fmt.Errorf("bad mac address %q", s)
	}
	return strings.ToLower(hw.String()), nil
}

// NormalizeFQDN returns a domain name in lower case with a trailing dot.
func NormalizeFQDN(s string) (string, error) {
	n := strings.ToLower(strings.TrimSpace(s))
	if n == "." {
		return n, nil
	}
	n = strings.TrimSuffix(n, ".")
	if n == "" || len(n) > 253 {
		return "", fmt.Errorf("bad fqdn %q", s)
	}
	for i, l := range strings.Split(n, ".") {
		if !validLabel(l, i == 0) {
			return "", fmt.Errorf("bad fqdn %q: label %q", s, l)
		}
	}
	return n + ".", nil
}

func validLabel(l string, first bool) bool {
	if l == "" || len(l) > 63 {
		return false
	}
	if l == "*" && first {
		return true
	}
	for _, c := range l {
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
		if !ok {
			return false
		}
	}
	return true
}

func toInt(v any) (any, error) {
	switch n := v.(type) {
	case int:
		return int64(n), nil
	case int32:
		return int64(n), nil
	case int64:
		return n, nil
	case uint64:
		if n > math.MaxInt64 {
			return nil, fmt.Errorf("integer %d out of range", n)
		}
		return int64(n), nil
	case float64:
		if n != math.Trunc(n) || math.Abs(n) > 1<<53 {
			return nil, fmt.Errorf("expected integer, got %v", n)
		}
		return int64(n), nil
	case json.Number:
		i, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("expected integer, got %s", n)
		}
		return i, nil
	}
	return nil, fmt.Errorf("expected integer, got %s", describe(v))
}

func toFloat(v any) (any, error) {
	var f float64
	switch n := v.(type) {
	case int:
		return float64(n), nil
	case int64:
		return float64(n), nil
	case float64:
		f = n
	case float32:
		f = float64(n)
	case json.Number:
		var err error
		if f, err = n.Float64(); err != nil {
			return nil, fmt.Errorf("expected number, got %s", n)
		}
	default:
		return nil, fmt.Errorf("expected number, got %s", describe(v))
	}
	// JSON, and so the store, cannot hold these.
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("expected a finite number, got %v", f)
	}
	return f, nil
}

func normalizeTime(v any, layout, what string) (any, error) {
	switch t := v.(type) {
	case time.Time:
		return t.UTC().Format(layout), nil
	case string:
		s := strings.TrimSpace(t)
		if what == "date" {
			d, err := time.Parse("2006-01-02", s)
			if err != nil {
				return nil, fmt.Errorf("bad date %q (want YYYY-MM-DD)", t)
			}
			return d.Format(layout), nil
		}
		d, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, fmt.Errorf("bad datetime %q (want RFC 3339, e.g. 2006-01-02T15:04:05Z)", t)
		}
		return d.UTC().Format(layout), nil
	}
	return nil, fmt.Errorf("expected %s, got %s", what, describe(v))
}

// describe names the kind of a decoded value for error messages.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("string %q", x)
	case bool:
		return fmt.Sprintf("boolean %v", x)
	case int, int32, int64, uint64:
		return fmt.Sprintf("integer %v", x)
	case float32, float64, json.Number:
		return fmt.Sprintf("number %v", x)
	case map[string]any:
		return "a mapping"
	}
	if _, ok := toList(v); ok {
		return "a list"
	}
	return fmt.Sprintf("%T", v)
}
