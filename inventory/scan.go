package inventory

import (
	"strconv"
	"strings"

	"github.com/tana-cmdb/tana/schema"
)

// scanBatch is how many rows a reader goroutine hands over at a time.
const scanBatch = 256

type scanned struct {
	id, version  int64
	name, status string
	raw, refIDs  string
	refs         map[string][]int64 // refIDs parsed
}

// decodeFlat parses a JSON object whose values are strings without
// escapes, numbers, booleans or lists of these; ok is false otherwise.
// Attributes the type does not have are dropped, as decodeAttrs does.
func decodeFlat(t *schema.EntityType, s string, extra int) (map[string]any, bool) {
	// Sized to the keys (commas and the type bound them) plus the references
	// the caller adds: a map of up to 8 is one small group, a bigger hint
	// a table.
	m := make(map[string]any, min(strings.Count(s, ",")+1, len(t.Attributes))+extra)
	if !decodeFlatInto(t, s, m) {
		return nil, false
	}
	return m, true
}

type flatParser struct {
	s string
	i int
}

func (p *flatParser) eat(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// str reads a string without escapes (json.Marshal escapes <, > and & and
// control characters; those take the slow path).
func (p *flatParser) str() (string, bool) {
	if !p.eat('"') {
		return "", false
	}
	j := strings.IndexAny(p.s[p.i:], `"\`)
	if j < 0 || p.s[p.i+j] != '"' {
		return "", false
	}
	out := p.s[p.i : p.i+j]
	p.i += j + 1
	return out, true
}

func (p *flatParser) scalar(k schema.Kind) (any, bool) {
	if p.i >= len(p.s) {
		return nil, false
	}
	switch c := p.s[p.i]; {
	case c == '"':
		return p.str()
	case c == 't' && strings.HasPrefix(p.s[p.i:], "true"):
		p.i += 4
		return true, true
	case c == 'f' && strings.HasPrefix(p.s[p.i:], "false"):
		p.i += 5
		return false, true
	case c == '-' || c >= '0' && c <= '9':
		j := p.i
		for j < len(p.s) && strings.IndexByte("+-.eE0123456789", p.s[j]) >= 0 {
			j++
		}
		num := p.s[p.i:j]
		p.i = j
		if k == schema.KindInteger {
			if n, err := strconv.ParseInt(num, 10, 64); err == nil {
				return n, true
			}
		}
		f, err := strconv.ParseFloat(num, 64)
		return f, err == nil
	}
	return nil, false
}
