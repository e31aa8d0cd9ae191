package allocate

import (
	"context"
	"fmt"
	"math"
	"net/netip"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// The pool types, in schema/builtin.yaml.
const (
	IPPool   = "ip_pool"
	NamePool = "name_pool"
)

// Pool is an ip_pool or name_pool entry, read: the values it hands out in
// order (by seq), and where a value goes.
type Pool struct {
	Entry *inventory.Entry
	Name  string
	Type  string // IPPool or NamePool
	Attr  string // the attribute of the entry a value is for; "" for a name
	Zone  string // ip_pool: the zone of the names it serves; name_pool: names in it are taken
	// EntryType is the type whose entries a name_pool names.
	EntryType string

	space *space    // ip_pool
	tmpl  *template // name_pool
	start int64     // name_pool
	end   int64     // name_pool: the last seq, or math.MaxInt64
}

// loadPool reads the pool named name, an ip_pool or a name_pool.
func loadPool(ctx context.Context, s *inventory.Store, name string) (*Pool, error) {
	en, err := poolEntry(ctx, s, name)
	if err != nil {
		return nil, err
	}
	p, err := poolOf(s.Registry(), en)
	if err != nil {
		return nil, fmt.Errorf("pool %s: %w", name, err)
	}
	return p, nil
}

// poolEntry returns the ip_pool or name_pool entry named name.
func poolEntry(ctx context.Context, s *inventory.Store, name string) (*inventory.Entry, error) {
	for _, typ := range []string{IPPool, NamePool} {
		en, err := s.GetByName(ctx, typ, name)
		if schema.ErrorCode(err) != schema.ENOTFOUND {
			return en, err
		}
	}
	return nil, schema.FieldErrorf(schema.ENOTFOUND, "pool", "no ip_pool or name_pool named %q", name)
}

// poolOf reads a pool entry; errors name the attribute at fault.
func poolOf(reg *schema.Registry, en *inventory.Entry) (*Pool, error) {
	str := func(a string) string { v, _ := en.Attrs[a].(string); return v }
	p := &Pool{Entry: en, Name: en.Name, Type: en.Type, Attr: str("attr"), Zone: str("zone")}
	switch en.Type {
	case IPPool:
		sp, err := newSpace(str("cidr"), listOf(en.Attrs["ranges"]), listOf(en.Attrs["exclude"]), str("gateway"))
		if err != nil {
			return nil, err
		}
		p.space = sp
		if p.Attr == "" {
			p.Attr = "ip"
		}
	case NamePool:
		t, err := parseTemplate(str("template"))
		if err != nil {
			return nil, err
		}
		p.tmpl, p.EntryType = t, str("entry_type")
		if p.EntryType == "" {
			p.EntryType = "vm"
		}
		if _, err := reg.Type(p.EntryType); err != nil {
			return nil, fieldError("entry_type", "unknown entity type %q", p.EntryType)
		}
		p.start, p.end = 1, math.MaxInt64
		if v, ok := en.Attrs["start"].(int64); ok {
			p.start = v
		}
		if v, ok := en.Attrs["end"].(int64); ok {
			p.end = v
		}
		if p.start < 0 || p.end < p.start {
			return nil, fieldError("end", "the pool runs from %d to %d: nothing to hand out", p.start, p.end)
		}
		if t.serial() && p.Attr == "" {
			return nil, fieldError("attr", "a serial pool (no template) needs attr: the attribute the number goes to")
		}
	default:
		return nil, fieldError("type", "%s is not a pool type", en.Type)
	}
	return p, nil
}

func listOf(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// Size is how many values the pool holds (math.MaxInt64: no end).
func (p *Pool) Size() int64 {
	if p.space != nil {
		return p.space.Size()
	}
	if p.end == math.MaxInt64 {
		return p.end
	}
	return p.end - p.start + 1
}

// first and last are the pool's first and last seq.
func (p *Pool) first() int64 {
	if p.space != nil {
		return 0
	}
	return p.start
}

func (p *Pool) last() int64 {
	if p.space != nil {
		return p.space.Size() - 1
	}
	return p.end
}

// value is the pool's value at seq in variant.
func (p *Pool) value(variant string, seq int64) string {
	if p.space != nil {
		return p.space.at(seq).String()
	}
	return p.tmpl.render(variant, seq)
}

// variant is the numbering a request draws from: a name template with its
// variables filled; "" for an ip_pool.
func (p *Pool) variant(vars map[string]string) (string, error) {
	if p.tmpl == nil {
		return "", nil
	}
	return p.tmpl.variant(vars)
}

// overlaps reports another ip_pool whose addresses meet this one's, or "".
func (p *Pool) overlaps(ctx context.Context, s *inventory.Store) (string, error) {
	if p.space == nil {
		return "", nil
	}
	var other string
	err := s.Each(ctx, IPPool, func(en *inventory.Entry) error {
		c, _ := en.Attrs["cidr"].(string)
		q, err := netip.ParsePrefix(c)
		if err == nil && en.ID != p.Entry.ID && other == "" && q.Overlaps(p.space.prefix) {
			other = fmt.Sprintf("%s (%s)", en.Name, q)
		}
		return nil
	})
	return other, err
}

// fieldError is an EINVALID error naming a pool attribute or request field.
func fieldError(field, format string, args ...any) error {
	return schema.FieldErrorf(schema.EINVALID, field, format, args...)
}
