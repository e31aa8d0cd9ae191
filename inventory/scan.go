package inventory

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/tana-cmdb/tana/schema"
)

// EachUnordered streams every live entry of a type, with references, in no
// particular order and without CreatedAt/UpdatedAt. It is Each for bulk
// readers such as reconcile's diff of a whole scope: plain scans and a
// decoder for the flat JSON the store writes, falling back to encoding/json
// for anything else.
func (s *Store) EachUnordered(ctx context.Context, typ string, fn func(*Entry) error) error {
	t, err := s.reg.Type(typ)
	if err != nil {
		return err
	}
	refs := map[int64][]refRow{}
	if len(t.Refs()) > 0 {
		var rs []refRow
		err := sqlx.SelectContext(ctx, s.db, &rs, s.db.Rebind(`SELECT e.name AS from_name, r.from_id, r.attr, r.pos, r.to_id, t.name AS to_name
			FROM refs r JOIN entries e ON e.id = r.from_id JOIN entries t ON t.id = r.to_id
			WHERE e.type = ? AND e.deleted_at IS NULL ORDER BY r.from_id, r.attr, r.pos`), typ)
		if err != nil {
			return fmt.Errorf("load %s references: %w", typ, mapError(err))
		}
		for _, r := range rs {
			refs[r.FromID] = append(refs[r.FromID], r)
		}
	}
	rows, err := s.db.QueryContext(ctx, s.db.Rebind(`SELECT id, name, attrs, version, status
		FROM entries WHERE type = ? AND deleted_at IS NULL`), typ)
	if err != nil {
		return fmt.Errorf("stream %s entries: %w", typ, mapError(err))
	}
	defer rows.Close()
	// Scanning (in the driver) and decoding overlap: one goroutine reads
	// rows in batches, this one decodes them and calls fn in order.
	batches := make(chan []scanned, 4)
	scanErr := make(chan error, 1)
	done := make(chan struct{})
	defer close(done)
	go func() {
		defer close(batches)
		batch := make([]scanned, 0, scanBatch)
		for rows.Next() {
			var r scanned
			if err := rows.Scan(&r.id, &r.name, &r.raw, &r.version, &r.status); err != nil {
				scanErr <- fmt.Errorf("stream %s entries: %w", typ, err)
				return
			}
			if batch = append(batch, r); len(batch) == scanBatch {
				select {
				case batches <- batch:
				case <-done:
					return
				}
				batch = make([]scanned, 0, scanBatch)
			}
		}
		if len(batch) > 0 {
			select {
			case batches <- batch:
			case <-done:
				return
			}
		}
		scanErr <- rows.Err()
	}()
	for batch := range batches {
		for _, r := range batch {
			e := &Entry{ID: r.id, Type: typ, Name: r.name, Version: r.version, Status: r.status}
			attrs, ok := decodeFlat(t, r.raw)
			if !ok {
				if attrs, err = decodeAttrs(s.reg, typ, r.raw); err != nil {
					return fmt.Errorf("entry %d: %w", e.ID, err)
				}
			}
			e.Attrs = attrs
			for _, rr := range refs[e.ID] {
				s.addRef(e, rr)
			}
			if err := fn(e); err != nil {
				return err
			}
		}
	}
	return <-scanErr
}

const scanBatch = 256

type scanned struct {
	id, version  int64
	name, status string
	raw          string
}

// decodeFlat parses a JSON object whose values are strings without
// escapes, numbers, booleans or lists of these; ok is false otherwise.
// Attributes the type does not have are dropped, as decodeAttrs does.
func decodeFlat(t *schema.EntityType, s string) (map[string]any, bool) {
	p := flatParser{s: s}
	if !p.eat('{') {
		return nil, false
	}
	m := make(map[string]any, 16)
	if p.eat('}') {
		return m, p.i == len(p.s)
	}
	for {
		key, ok := p.str()
		if !ok || !p.eat(':') {
			return nil, false
		}
		a := t.Attr(key)
		kind := schema.KindString
		if a != nil {
			kind = a.Type.Kind
		}
		var v any
		if p.eat('[') {
			l := []any{}
			if !p.eat(']') {
				for {
					x, ok := p.scalar(kind)
					if !ok {
						return nil, false
					}
					l = append(l, x)
					if p.eat(']') {
						break
					}
					if !p.eat(',') {
						return nil, false
					}
				}
			}
			v = l
		} else if v, ok = p.scalar(kind); !ok {
			return nil, false
		}
		if a != nil {
			m[key] = v
		}
		if p.eat('}') {
			return m, p.i == len(p.s)
		}
		if !p.eat(',') {
			return nil, false
		}
	}
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
