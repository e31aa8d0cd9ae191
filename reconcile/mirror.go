package reconcile

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/tana-cmdb/tana/collectors"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// mirror is what the store must do to follow the reality fixes an apply
// made: entries of objects a fixer removed (an orphan record) are
// soft-deleted, objects it created (a VM's A record) are written and bound
// to their scope, as the next collection would find them — so the store
// agrees with reality at once and the cross-source check does not reopen
// drift the apply just fixed.
type mirror struct {
	gone []goneObject
	made []Fix // store creates, one per object made
}

type goneObject struct {
	entryID  int64
	scope    string
	objectID string
	reason   string
}

// mirrorOf works out the mirror of the fixes done; it reads the entries of
// removed objects before the store transaction.
func (e *Engine) mirrorOf(ctx context.Context, fixes []Fix, done map[int]bool) (*mirror, error) {
	m := &mirror{}
	for i, f := range fixes {
		r := f.Reality
		if !done[i] || r == nil {
			continue
		}
		gone, made := realityEffect(r)
		if gone != nil {
			id := f.EntryID
			if f.Type != gone.Type || id == 0 {
				en, err := e.store.GetByName(ctx, gone.Type, gone.Name)
				if schema.ErrorCode(err) == schema.ENOTFOUND {
					continue // never in the store, or already gone
				}
				if err != nil {
					return nil, err
				}
				id = en.ID
			}
			m.gone = append(m.gone, goneObject{entryID: id, scope: r.Scope, objectID: gone.ID, reason: "removed from reality: " + f.Message})
		}
		if made != nil {
			m.made = append(m.made, Fix{Direction: ToStore, Action: ActCreate, Type: made.Type, Scope: r.Scope,
				ObjectID: made.ID, Name: made.Name, Attrs: made.Attrs})
		}
	}
	return m, nil
}

// realityEffect is what a reality fix made disappear from reality and what
// it made appear, as objects of the store's types; nil for neither (a
// declared value pushed to vCenter is in the store already).
func realityEffect(r *collectors.Fix) (gone, made *collectors.Object) {
	switch r.Op {
	case collectors.OpCreate:
		return nil, &r.Object
	case collectors.OpDelete:
		return &r.Object, nil
	}
	if r.Object.Type == "dns_record" && r.Attr == "value" {
		// A record's value is part of its identity: a new value is a new record.
		fqdn, _ := r.Object.Attrs["fqdn"].(string)
		rtype, _ := r.Object.Attrs["rtype"].(string)
		zone, _ := r.Object.Attrs["zone"].(string)
		o := recordObject(zone, fqdn, rtype, fmt.Sprint(r.New))
		if ttl, ok := r.Object.Attrs["ttl"]; ok {
			o.Attrs["ttl"] = ttl
		}
		return &r.Object, &o
	}
	return nil, nil
}

// apply makes the mirror in tx and returns how many entries it wrote.
func (m *mirror) apply(ctx context.Context, e *Engine, tx *inventory.Tx, meta inventory.Meta) (int, error) {
	n := 0
	for _, g := range m.gone {
		gm := meta
		gm.Reason = g.reason
		if _, err := tx.Delete(ctx, gm, g.entryID, 0); err != nil {
			if schema.ErrorCode(err) == schema.ECONFLICT {
				continue // already deleted
			}
			return n, err
		}
		if err := tx.Unbind(ctx, g.scope, []string{g.objectID}); err != nil {
			return n, err
		}
		n++
	}
	if len(m.made) == 0 {
		return n, nil
	}
	made, versions, err := e.applyStore(ctx, tx, meta, m.made, nil)
	if err != nil {
		return n, fmt.Errorf("record what the fixes made: %w", err)
	}
	// A record made again may meet its own stale entry: it is live again.
	ids := slices.Sorted(maps.Keys(versions))
	if err := tx.SetStatus(ctx, inventory.StatusActive, ids); err != nil {
		return n, err
	}
	return n + made, nil
}
