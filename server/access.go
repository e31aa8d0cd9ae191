package server

import (
	"context"
	"net/http"
	"sync"

	"github.com/tana-cmdb/tana/access"
	"github.com/tana-cmdb/tana/allocate"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/ansible"
	"github.com/tana-cmdb/tana/reconcile"
	"github.com/tana-cmdb/tana/schema"
)

// requestAccess is the caller's access, worked out once per request on
// first use: one read of the grants.
type requestAccess struct {
	once sync.Once
	acc  *access.Access
	err  error
}

type accessKey struct{}

// withAccess gives a request its lazily computed access.
func withAccess(ctx context.Context) context.Context {
	return context.WithValue(ctx, accessKey{}, &requestAccess{})
}

// accessOf is what the caller may do: the one evaluator (package access)
// every interface of the server asks.
func accessOf(ctx context.Context, s *inventory.Store) (*access.Access, error) {
	ra, _ := ctx.Value(accessKey{}).(*requestAccess)
	if ra == nil {
		ra = &requestAccess{} // a resolver called outside a request (tests)
	}
	ra.once.Do(func() {
		p, err := access.LoadPolicy(ctx, s)
		if err != nil {
			ra.err = err
			return
		}
		ra.acc = p.For(accessPrincipal(ctx))
	})
	return ra.acc, ra.err
}

// mayWrite returns the caller's access if it may write anything at all,
// else a forbidden error.
func mayWrite(ctx context.Context, s *inventory.Store) (*access.Access, error) {
	acc, err := accessOf(ctx, s)
	if err != nil {
		return nil, err
	}
	if !acc.MayWrite() {
		pr := acc.Principal()
		return nil, schema.Errorf(schema.EFORBIDDEN, "%s %s may not write anything (role %q, no grant of write)", pr.Kind, pr.Name, pr.Role)
	}
	return acc, nil
}

// accessPrincipal is the request's principal as package access knows it.
func accessPrincipal(ctx context.Context) *access.Principal { return principalFrom(ctx).Principal }

// visible keeps the entries the caller may read.
func visible(acc *access.Access, es []*inventory.Entry) []*inventory.Entry {
	out := es[:0:0]
	for _, e := range es {
		if acc.EntryLevel(e) >= access.Read {
			out = append(out, e)
		}
	}
	return out
}

// readable returns e if the caller may read it, else a not-found error
// that does not tell it exists.
func readable(acc *access.Access, e *inventory.Entry) (*inventory.Entry, error) {
	if acc.EntryLevel(e) < access.Read {
		return nil, schema.Errorf(schema.ENOTFOUND, "%s not found", e.Type)
	}
	return e, nil
}

// ansibleFor serves the Ansible inventory as the caller may see it.
func (s *Server) ansibleFor(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		acc, err := accessOf(r.Context(), s.store)
		if err != nil {
			writeError(w, statusOf(err), err)
			return
		}
		if !acc.IsAdmin() {
			r = r.WithContext(ansible.WithVisibility(r.Context(), ansibleView{acc}))
		}
		next.ServeHTTP(w, r)
	})
}

// ansibleView adapts an access to what the Ansible inventory asks.
type ansibleView struct{ acc *access.Access }

func (v ansibleView) Rows(typ string) *inventory.AccessFilter { return v.acc.Rows(typ, access.Read) }
func (v ansibleView) AttrRule(typ, attr string) (bool, bool)  { return v.acc.AttrRule(typ, attr) }
func (v ansibleView) CanRead(en *inventory.Entry, attr string) bool {
	return v.acc.CanRead(en, attr)
}

var _ ansible.Visibility = ansibleView{}

// subjects decides, for one caller, the drift items, plan fixes and
// report lines it may see: one about a stored entry if it may read the
// entry (and the attribute it is about); one about an object not in the
// store if it may read the type. The entries come in one GetMany.
type subjects struct {
	acc     *access.Access
	entries map[int64]*inventory.Entry
}

func newSubjects(ctx context.Context, s *inventory.Store, acc *access.Access, ids []int64) (*subjects, error) {
	v := &subjects{acc: acc}
	if acc.IsAdmin() || len(ids) == 0 {
		return v, nil
	}
	m, err := s.GetMany(ctx, ids)
	if err != nil {
		return nil, err
	}
	v.entries = m
	return v, nil
}

// keep reports whether the caller may see what is said about attr ("":
// the entry as a whole) of entry id (0: an object not in the store) of
// typ.
func (v *subjects) keep(typ string, id int64, attr string) bool {
	if v.acc.IsAdmin() {
		return true
	}
	if e := v.entries[id]; e != nil {
		return v.acc.EntryLevel(e) >= access.Read && (attr == "" || v.acc.CanRead(e, attr))
	}
	if v.acc.TypeLevel(typ) < access.Read {
		return false
	}
	readable, perEntry := v.acc.AttrRule(typ, attr)
	return attr == "" || readable && !perEntry
}

// strip removes from attrs (of entry id, or an object of typ not in the
// store) those the caller may not read.
func (v *subjects) strip(typ string, id int64, attrs map[string]any) {
	for k := range attrs {
		if !v.keep(typ, id, k) {
			delete(attrs, k)
		}
	}
}

// item keeps a drift item the caller may see, without the attributes of
// its object the caller may not read.
func (v *subjects) item(it *reconcile.Item) bool {
	if !v.keep(it.Type, it.EntryID, it.Attr) {
		return false
	}
	if it.Object != nil {
		v.strip(it.Type, it.EntryID, it.Object.Attrs)
	}
	return true
}

// driftSubjects loads what decides the caller's view of items.
func driftSubjects(ctx context.Context, s *inventory.Store, acc *access.Access, lists ...[]reconcile.Item) (*subjects, error) {
	var ids []int64
	for _, items := range lists {
		for i := range items {
			if items[i].EntryID != 0 {
				ids = append(ids, items[i].EntryID)
			}
		}
	}
	return newSubjects(ctx, s, acc, ids)
}

// visibleItems keeps the drift items the caller may see.
func visibleItems(ctx context.Context, s *inventory.Store, items []reconcile.Item) ([]reconcile.Item, error) {
	acc, err := accessOf(ctx, s)
	if err != nil || acc.IsAdmin() {
		return items, err
	}
	v, err := driftSubjects(ctx, s, acc, items)
	if err != nil {
		return nil, err
	}
	out := items[:0]
	for i := range items {
		if v.item(&items[i]) {
			out = append(out, items[i])
		}
	}
	return out, nil
}

// visiblePlan keeps the fixes of a plan the caller may see; a plan with
// none it may see is not found.
func visiblePlan(ctx context.Context, s *inventory.Store, p *reconcile.Plan) (*reconcile.Plan, error) {
	acc, err := accessOf(ctx, s)
	if err != nil || acc.IsAdmin() {
		return p, err
	}
	ids := make([]int64, 0, len(p.Fixes))
	for _, f := range p.Fixes {
		ids = append(ids, f.EntryID)
	}
	v, err := newSubjects(ctx, s, acc, ids)
	if err != nil {
		return nil, err
	}
	c := *p
	c.Fixes = nil
	for _, f := range p.Fixes {
		if v.keep(f.Type, f.EntryID, f.Attr) {
			v.strip(f.Type, f.EntryID, f.Attrs)
			c.Fixes = append(c.Fixes, f)
		}
	}
	if len(c.Fixes) == 0 && len(p.Fixes) > 0 {
		return nil, schema.Errorf(schema.ENOTFOUND, "plan %s not found", p.ID)
	}
	return &c, nil
}

// visibleReport is the report as the caller may see it.
func visibleReport(ctx context.Context, s *inventory.Store, r *reconcile.Report) (*reconcile.Report, error) {
	acc, err := accessOf(ctx, s)
	if err != nil || acc.IsAdmin() {
		return r, err
	}
	v, err := driftSubjects(ctx, s, acc, r.Open, r.Resolved)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(r.Pools))
	for _, p := range r.Pools {
		names = append(names, p.Pool)
	}
	pools, err := readablePools(ctx, s, acc, names)
	if err != nil {
		return nil, err
	}
	return r.Only(v.item, func(name string) bool { return pools[name] }), nil
}

// readablePools tells which of the named allocation pools the caller may
// read (a report lists only the few nearly full).
func readablePools(ctx context.Context, s *inventory.Store, acc *access.Access, names []string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, name := range names {
		e, err := poolEntry(ctx, s, name)
		if err != nil {
			return nil, err
		}
		out[name] = e != nil && acc.EntryLevel(e) >= access.Read
	}
	return out, nil
}

// poolEntry returns the pool entry of that name, nil if there is none.
func poolEntry(ctx context.Context, s *inventory.Store, name string) (*inventory.Entry, error) {
	for _, typ := range []string{allocate.IPPool, allocate.NamePool} {
		e, err := s.GetByName(ctx, typ, name)
		if schema.ErrorCode(err) == schema.ENOTFOUND {
			continue
		}
		return e, err
	}
	return nil, nil
}

// poolAccess refuses a caller whose level on pool is below need: a pool
// it may not read is not found, one it may read but not write is
// forbidden. Allocating, confirming and releasing need write on the pool
// entry.
func poolAccess(ctx context.Context, s *inventory.Store, pool string, need access.Level) error {
	acc, err := accessOf(ctx, s)
	if err != nil || acc.IsAdmin() {
		return err
	}
	e, err := poolEntry(ctx, s, pool)
	if err != nil || e == nil {
		return err // the allocator says a missing pool is not found
	}
	switch l := acc.EntryLevel(e); {
	case l >= need:
		return nil
	case l < access.Read:
		return schema.FieldErrorf(schema.ENOTFOUND, "pool", "pool %q not found", pool)
	default:
		pr := acc.Principal()
		return schema.FieldErrorf(schema.EFORBIDDEN, "pool", "%s may not take from or give back to pool %q (its level there is %s)", pr.Name, pool, l)
	}
}

// visiblePools keeps the pools the caller may read.
func visiblePools(ctx context.Context, s *inventory.Store, us []allocate.PoolUsage) ([]allocate.PoolUsage, error) {
	acc, err := accessOf(ctx, s)
	if err != nil || acc.IsAdmin() {
		return us, err
	}
	names := make([]string, 0, len(us))
	for _, u := range us {
		names = append(names, u.Name)
	}
	ok, err := readablePools(ctx, s, acc, names)
	if err != nil {
		return nil, err
	}
	out := us[:0]
	for _, u := range us {
		if ok[u.Name] {
			out = append(out, u)
		}
	}
	return out, nil
}
