// Package allocate hands out values from pools — IP addresses from
// ip_pool entries, names and serial numbers from name_pool entries — each
// at most once, however many replicas and clients ask at the same time.
//
// A grant is one store transaction that holds the pool's lock
// (inventory.Store.InPoolTx): the free value is found inside it, from the
// pool's allocations and from what reality holds — an entry with the
// address or the name (VMs, hosts, DNS records as the last collections
// saw them) and open drift of objects the store has not taken in yet. The
// store's unique indexes on (pool, value) and (pool, key) stand behind the
// lock; grants of one pool that arrive together share that transaction
// (batch.go). A key makes a request idempotent: the same key gets the same
// grant back, never a second one. A hold expires unless confirmed.
//
//	Allocate(ctx, req)               grant values (optionally bound to an entry, with DNS)
//	Confirm(ctx, pool, key)          make a held grant permanent
//	Release(ctx, pool, key, values)  give values back
//	Pools(ctx)                       every pool's size and use
package allocate

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// DefaultMaxCount bounds the values of one request.
const DefaultMaxCount = 256

// Options configure an Allocator.
type Options struct {
	Logger   *slog.Logger
	MaxCount int // per request; default DefaultMaxCount
}

// Allocator hands out values from the pools of one store.
type Allocator struct {
	store *inventory.Store
	log   *slog.Logger
	max   int
	lines lines // grants waiting for their pool's transaction
}

// New returns an allocator over store.
func New(store *inventory.Store, o Options) *Allocator {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxCount <= 0 {
		o.MaxCount = DefaultMaxCount
	}
	return &Allocator{store: store, log: o.Logger, max: o.MaxCount}
}

// Request asks a pool for values.
type Request struct {
	Pool  string
	Count int    // 0 means 1
	Key   string // idempotency key: a retry with it gets the same grant
	// Hold, when set, reserves the values for this long: they return to
	// the pool unless confirmed (Confirm).
	Hold time.Duration
	// For binds the grant to an entry: "TYPE/NAME", or for a name pool
	// "TYPE" (new entries named by the values). An address becomes the
	// entry's ip (the pool's attr), a name its name.
	For string
	// DNS declares the entry's dns_name in the pool's zone, so that the
	// next plan creates its A and PTR records.
	DNS    bool
	Vars   map[string]string // a name template's variables ({env})
	Actor  string
	Reason string
}

// Grant is what a request got.
type Grant struct {
	Pool      string     `json:"pool"`
	Values    []string   `json:"values"`
	Key       string     `json:"key,omitempty"`
	Status    string     `json:"status"` // held or granted
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	For       []string   `json:"for,omitempty"` // the entries bound, TYPE/NAME
	DNSName   string     `json:"dns_name,omitempty"`
	// Replayed says the key's grant was made before: this is it again.
	Replayed bool `json:"replayed,omitempty"`
	// Skipped are values the pool would have handed out but reality holds.
	Skipped []Skip `json:"skipped,omitempty"`
}

// Skip is a value left out, and why.
type Skip struct {
	Value  string `json:"value"`
	Reason string `json:"reason"`
}

// target is the entry a grant is for.
type target struct {
	typ, name string // name "" for new entries a name pool names
	entry     *inventory.Entry
}

// Allocate grants values from a pool. Nothing is written on any error.
func (a *Allocator) Allocate(ctx context.Context, r Request) (*Grant, error) {
	if r.Count == 0 {
		r.Count = 1
	}
	if r.Count < 1 || r.Count > a.max {
		return nil, fieldError("count", "want 1 to %d values, got %d", a.max, r.Count)
	}
	if r.Hold < 0 {
		return nil, fieldError("hold", "a hold of %s is negative", r.Hold)
	}
	p, err := loadPool(ctx, a.store, r.Pool)
	if err != nil {
		return nil, err
	}
	if other, err := p.overlaps(ctx, a.store); err != nil || other != "" {
		return nil, firstErr(err, fieldError("cidr", "pool %s (%s) overlaps pool %s: an address would have two pools", p.Name, p.space.prefix, other))
	}
	variant, err := p.variant(r.Vars)
	if err != nil {
		return nil, err
	}
	t, err := a.target(ctx, p, r)
	if err != nil {
		return nil, err
	}
	var g *Grant
	// A grant for no entry writes nothing but its allocations: it may
	// share its transaction with others of the pool (batch.go), whose ctx
	// it then runs in.
	err = a.inPool(ctx, p.Entry.ID, t == nil, func(ctx context.Context, tx *inventory.Tx) error {
		if r.Key != "" {
			prior, err := tx.GrantOfKey(ctx, p.Entry.ID, r.Key)
			if err != nil || len(prior) > 0 {
				g, err = replay(p, r, prior, err)
				return err
			}
		}
		if err := a.checkTarget(ctx, tx, p, t); err != nil {
			return err
		}
		seqs, skipped, err := a.free(ctx, tx, p, variant, r.Count, t)
		if err != nil {
			return err
		}
		g = &Grant{Pool: p.Name, Key: r.Key, Status: inventory.AllocGranted, Skipped: skipped}
		var expires *time.Time
		if r.Hold > 0 {
			until := tx.Now().Add(r.Hold).UTC()
			g.Status, g.ExpiresAt, expires = inventory.AllocHeld, &until, &until
		}
		for _, s := range seqs {
			g.Values = append(g.Values, p.value(variant, s))
		}
		ids, err := a.bind(ctx, tx, p, r, t, g)
		if err != nil {
			return err
		}
		allocs := make([]inventory.Allocation, len(seqs))
		for i, s := range seqs {
			allocs[i] = inventory.Allocation{ID: uuid.Must(uuid.NewV7()).String(), PoolID: p.Entry.ID, Variant: variant, Seq: s,
				Value: g.Values[i], Key: r.Key, Ordinal: i, Status: g.Status, EntryID: ids[i], Actor: r.Actor, Reason: r.Reason, ExpiresAt: expires}
		}
		return tx.AddAllocations(ctx, allocs)
	})
	if err != nil {
		return nil, fmt.Errorf("allocate from %s: %w", r.Pool, err)
	}
	if g.Replayed {
		if g.For, err = a.boundNames(ctx, p, r.Key); err != nil {
			return nil, err
		}
	}
	a.log.Info("allocated", "pool", p.Name, "values", g.Values, "key", r.Key, "status", g.Status, "for", g.For, "replayed", g.Replayed)
	return g, nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// replay answers a request whose key was used before: with that grant,
// if it is the same request and the grant still stands.
func replay(p *Pool, r Request, prior []inventory.Allocation, err error) (*Grant, error) {
	if err != nil {
		return nil, err
	}
	if len(prior) != r.Count {
		return nil, schema.FieldErrorf(schema.ECONFLICT, "key", "key %q was used for a grant of %d values from %s; this request asks for %d: use another key",
			r.Key, len(prior), p.Name, r.Count)
	}
	g := &Grant{Pool: p.Name, Key: r.Key, Status: inventory.AllocGranted, Replayed: true}
	for _, a := range prior {
		if a.Status != inventory.AllocHeld && a.Status != inventory.AllocGranted {
			return nil, schema.FieldErrorf(schema.ECONFLICT, "key", "the grant of key %q (%s from %s) was %s at %s; a key grants once: use another key",
				r.Key, a.Value, p.Name, a.Status, a.EndedAt.Format(time.RFC3339))
		}
		g.Values = append(g.Values, a.Value)
		if a.Status == inventory.AllocHeld {
			g.Status, g.ExpiresAt = a.Status, a.ExpiresAt
		}
	}
	return g, nil
}

// boundNames names the entries a key's grant is bound to.
func (a *Allocator) boundNames(ctx context.Context, p *Pool, key string) ([]string, error) {
	as, err := a.store.Allocations(ctx, inventory.AllocationFilter{PoolID: p.Entry.ID})
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, x := range as {
		if x.Key == key && x.EntryID != nil {
			ids = append(ids, *x.EntryID)
		}
	}
	ens, err := a.store.GetMany(ctx, ids)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, id := range ids {
		if en := ens[id]; en != nil {
			out = append(out, en.Type+"/"+en.Name)
		}
	}
	return out, nil
}

// target reads what the grant is for: "TYPE/NAME" or "TYPE".
func (a *Allocator) target(ctx context.Context, p *Pool, r Request) (*target, error) {
	if r.DNS && (p.Type != IPPool || p.Zone == "") {
		return nil, fieldError("dns", "--dns needs an ip_pool with a zone: pool %s has none", p.Name)
	}
	if r.For == "" {
		if r.DNS {
			return nil, fieldError("for", "--dns needs the entry the address is for (TYPE/NAME)")
		}
		return nil, nil
	}
	typ, name, _ := strings.Cut(r.For, "/")
	if _, err := a.store.Registry().Type(typ); err != nil {
		return nil, fieldError("for", "%q: unknown entity type %q", r.For, typ)
	}
	t := &target{typ: typ, name: name}
	switch {
	case p.Type == NamePool && typ != p.EntryType:
		return nil, fieldError("for", "pool %s names %s entries, not %s", p.Name, p.EntryType, typ)
	case name == "" && (p.Type == IPPool || p.Attr != ""):
		return nil, fieldError("for", "name the entry the value is for: %s/NAME", typ)
	case name != "" && r.Count != 1:
		return nil, fieldError("count", "one entry (%s) takes one value, not %d", r.For, r.Count)
	}
	if name != "" {
		en, err := a.store.GetByName(ctx, typ, name)
		switch {
		case err == nil:
			t.entry = en
		case schema.ErrorCode(err) != schema.ENOTFOUND:
			return nil, err
		case p.Type == NamePool:
			return nil, fieldError("for", "no %s named %q to rename", typ, name)
		}
	}
	return t, nil
}

// checkTarget refuses to give an entry a second value of a pool that
// fills one attribute: the first would leak.
func (a *Allocator) checkTarget(ctx context.Context, tx *inventory.Tx, p *Pool, t *target) error {
	if t == nil || t.entry == nil {
		return nil
	}
	as, err := tx.Allocations(ctx, inventory.AllocationFilter{PoolID: p.Entry.ID, EntryID: t.entry.ID, Live: true})
	if err != nil {
		return err
	}
	if len(as) > 0 {
		return schema.FieldErrorf(schema.ECONFLICT, "for", "%s/%s already has %s from pool %s (key %q): release it first",
			t.typ, t.name, as[0].Value, p.Name, as[0].Key)
	}
	// An entry that has a value of its own (a VM vCenter reports an
	// address for) is not given another: its DNS would follow the grant
	// and break the VM.
	if p.Attr != "" && p.Attr != "name" {
		if have, ok := t.entry.Attrs[p.Attr]; ok && have != nil && have != "" {
			return schema.FieldErrorf(schema.ECONFLICT, "for", "%s/%s has %s %v already: a grant is for an entry without one", t.typ, t.name, p.Attr, have)
		}
	}
	return nil
}

// bind writes the granted values into the entry they are for, in the
// grant's transaction, and returns each value's entry id.
func (a *Allocator) bind(ctx context.Context, tx *inventory.Tx, p *Pool, r Request, t *target, g *Grant) ([]*int64, error) {
	ids := make([]*int64, len(g.Values))
	if t == nil {
		return ids, nil
	}
	meta := inventory.Meta{Actor: r.Actor, Source: "allocate:" + p.Name, Reason: r.Reason}
	for i, v := range g.Values {
		var en *inventory.Entry
		var err error
		attrs := map[string]any{}
		if p.Attr != "" {
			attrs[p.Attr] = a.typed(t.typ, p.Attr, v)
		}
		if r.DNS {
			g.DNSName = t.name + "." + p.Zone
			if t.entry != nil && t.entry.Attrs["dns_name"] != nil {
				g.DNSName, _ = t.entry.Attrs["dns_name"].(string)
			} else {
				attrs["dns_name"] = g.DNSName
			}
		}
		switch {
		case t.entry != nil && p.Attr == "":
			name := v
			en, err = tx.Update(ctx, meta, t.entry.ID, inventory.Patch{Name: &name})
		case t.entry != nil:
			en, err = tx.Update(ctx, meta, t.entry.ID, inventory.Patch{Attrs: attrs})
		case t.name != "":
			en, err = tx.Create(ctx, meta, t.typ, t.name, attrs)
		default:
			en, err = tx.Create(ctx, meta, t.typ, v, attrs)
		}
		if err != nil {
			return nil, fmt.Errorf("bind %s to %s: %w", v, t.typ, err)
		}
		id := en.ID
		ids[i] = &id
		g.For = append(g.For, en.Type+"/"+en.Name)
	}
	return ids, nil
}

// typed is a value as the attribute it goes to wants it: a serial number
// into an integer attribute is a number.
func (a *Allocator) typed(typ, attr, v string) any {
	t, err := a.store.Registry().Type(typ)
	if err != nil {
		return v
	}
	if at := t.Attr(attr); at != nil && at.Type.Kind == schema.KindInteger {
		var n int64
		if _, err := fmt.Sscan(v, &n); err == nil {
			return n
		}
	}
	return v
}

// Confirm makes the held grant of key permanent.
func (a *Allocator) Confirm(ctx context.Context, pool, key string) (*Grant, error) {
	return a.end(ctx, pool, key, nil, inventory.AllocGranted, "")
}

// Release gives a pool's values back: those of key's grant, or values.
// The entries they were bound to keep their attributes: an address a VM
// still has stays taken until reality lets it go.
func (a *Allocator) Release(ctx context.Context, pool, key string, values []string, reason string) (*Grant, error) {
	if key == "" && len(values) == 0 {
		return nil, fieldError("key", "name the grant's key or the values to release")
	}
	return a.end(ctx, pool, key, values, inventory.AllocReleased, reason)
}

func (a *Allocator) end(ctx context.Context, pool, key string, values []string, status, reason string) (*Grant, error) {
	p, err := loadPool(ctx, a.store, pool)
	if err != nil {
		return nil, err
	}
	g := &Grant{Pool: p.Name, Key: key, Status: status}
	err = a.store.InPoolTx(ctx, p.Entry.ID, func(tx *inventory.Tx) error {
		if err := tx.ExpireHolds(ctx, p.Entry.ID); err != nil {
			return err
		}
		done, err := tx.EndAllocations(ctx, p.Entry.ID, key, values, status, reason)
		if err != nil {
			return err
		}
		if len(done) == 0 {
			return schema.Errorf(schema.ENOTFOUND, "pool %s has no live grant of key %q or values %v (expired or released already?)", p.Name, key, values)
		}
		for _, x := range done {
			g.Values = append(g.Values, x.Value)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", status, err)
	}
	a.log.Info("allocation "+status, "pool", p.Name, "key", key, "values", g.Values)
	return g, nil
}
