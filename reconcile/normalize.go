package reconcile

import (
	"fmt"
	"math"
	"net/netip"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tana-cmdb/tana/schema"
)

// normalize brings a value into the form values are compared in: the
// attribute type's canonical form (IP text, lower-case MAC, FQDN lower-case
// with its trailing dot), units stripped from sizes, list items in a fixed
// order (no list tana keeps is ordered), and per-attribute rules (DNS
// record data). A value that does not normalise is compared as it is.
func normalize(a *schema.Attribute, v any) any {
	if s, ok := v.(string); ok && (a.Type.Kind == schema.KindInteger || a.Type.Kind == schema.KindNumber) {
		if n, ok := parseSize(a.Name, s); ok {
			v = n
		}
	}
	n, err := a.Type.Normalize(v)
	if err != nil {
		return v
	}
	if a.Name == "value" {
		n = normalizeRData(n)
	}
	if l, ok := n.([]any); ok && a.Type.List {
		sortList(l)
	}
	return n
}

// normalizeRData makes DNS record data comparable: canonical IPs, and
// names lower-case and absolute. Text with quotes or spaces (TXT, MX) only
// has its names' case folded when it has no quotes.
func normalizeRData(v any) any {
	s, ok := v.(string)
	if !ok {
		return v
	}
	s = strings.TrimSpace(s)
	if ip, err := netip.ParseAddr(s); err == nil {
		return ip.Unmap().String()
	}
	if strings.ContainsAny(s, `"`) {
		return s
	}
	s = strings.ToLower(s)
	if !strings.ContainsAny(s, " \t") && strings.Contains(s, ".") && !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// parseSize reads "4 GiB", "4096MB", "40 GB" for attributes whose name
// says their unit (_mb, _gb).
func parseSize(attr, s string) (float64, bool) {
	s = strings.TrimSpace(strings.ToLower(s))
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i <= 0 {
		f, err := strconv.ParseFloat(s, 64)
		return f, err == nil
	}
	num, err := strconv.ParseFloat(s[:i], 64)
	if err != nil {
		return 0, false
	}
	mb := map[string]float64{"kb": 1.0 / 1024, "kib": 1.0 / 1024, "mb": 1, "mib": 1, "gb": 1024, "gib": 1024, "tb": 1 << 20, "tib": 1 << 20}
	f, ok := mb[strings.TrimSpace(s[i:])]
	if !ok {
		return 0, false
	}
	switch {
	case strings.HasSuffix(attr, "_mb"):
		return num * f, true
	case strings.HasSuffix(attr, "_gb"):
		return num * f / 1024, true
	}
	return 0, false
}

func sortList(l []any) {
	sort.SliceStable(l, func(i, j int) bool { return fmt.Sprint(l[i]) < fmt.Sprint(l[j]) })
}

// cmpOptions are the diff's explicit rules for go-cmp: sizes equal within
// rounding, lists compared as sets, empty and absent lists alike.
var cmpOptions = cmp.Options{
	cmpopts.EquateApprox(0, 0.005),
	cmpopts.SortSlices(func(a, b any) bool { return fmt.Sprint(a) < fmt.Sprint(b) }),
	cmpopts.EquateEmpty(),
	cmp.Comparer(func(a, b int64) bool { return a == b }),
}

// equal reports whether a stored and an actual value are the same after
// normalisation. Scalars that are identical take a fast path; go-cmp
// decides the rest.
func equal(a *schema.Attribute, stored, actual any) bool {
	if fastEqual(stored, actual) {
		return true
	}
	s, x := normalize(a, stored), normalize(a, actual)
	if fastEqual(s, x) {
		return true
	}
	if sf, ok := asFloat(s); ok {
		if xf, ok := asFloat(x); ok {
			return math.Abs(sf-xf) <= 0.005
		}
	}
	return cmp.Equal(s, x, cmpOptions)
}

func fastEqual(x, y any) bool {
	switch a := x.(type) {
	case string:
		b, ok := y.(string)
		return ok && a == b
	case int64:
		b, ok := y.(int64)
		return ok && a == b
	case float64:
		b, ok := y.(float64)
		return ok && a == b
	case bool:
		b, ok := y.(bool)
		return ok && a == b
	case []any:
		b, ok := y.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !fastEqual(a[i], b[i]) {
				return false
			}
		}
		return true
	case nil:
		return y == nil
	}
	return reflect.DeepEqual(x, y)
}

func asFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}
