package allocate

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// free finds n free places of a pool's variant, inside the pool's lock.
// It goes on from the highest place the pool ever handed out (next fit:
// a released value comes back only once the pool has wrapped around, so
// it is not reused while caches may still hold it), and skips what
// reality holds, saying why.
func (a *Allocator) free(ctx context.Context, tx *inventory.Tx, p *Pool, variant string, n int, t *target) ([]int64, []Skip, error) {
	start, unseen := p.first(), p.first()
	if max, ok, err := tx.MaxSeq(ctx, p.Entry.ID, variant); err != nil {
		return nil, nil, err
	} else if ok {
		unseen = max + 1
		if max >= start && max < p.last() {
			start = max + 1
		}
	}
	var seqs []int64
	var skipped []Skip
	// Two passes: from start to the end, then from the first place to start.
	for _, pass := range [][2]int64{{start, p.last()}, {p.first(), start - 1}} {
		for from := pass[0]; len(seqs) < n && from <= pass[1]; {
			seq, ok, err := nextFree(ctx, tx, p, variant, from, pass[1], unseen)
			if err != nil {
				return nil, nil, err
			}
			if !ok {
				break
			}
			v := p.value(variant, seq)
			why, err := a.taken(ctx, tx, p, v, t)
			if err != nil {
				return nil, nil, err
			}
			if why != "" {
				skipped = append(skipped, Skip{Value: v, Reason: why})
			} else {
				seqs = append(seqs, seq)
			}
			from = seq + 1
		}
	}
	if len(seqs) < n {
		return nil, nil, a.exhausted(ctx, tx, p, n, len(seqs), skipped)
	}
	return seqs, skipped, nil
}

// nextFree is the first place from from to last that no live allocation
// holds. No allocation, live or ended, has a place from unseen on (the
// pool never got that far), so those need no query: the next fit of a
// pool that has not wrapped around asks the store nothing.
func nextFree(ctx context.Context, tx *inventory.Tx, p *Pool, variant string, from, last, unseen int64) (int64, bool, error) {
	if from >= unseen {
		return from, from <= last, nil
	}
	return tx.NextFreeSeq(ctx, p.Entry.ID, variant, from, last)
}

// exhausted says that a pool cannot give n values, and why.
func (a *Allocator) exhausted(ctx context.Context, tx *inventory.Tx, p *Pool, n, found int, skipped []Skip) error {
	size := "no end"
	if s := p.Size(); s != 1<<63-1 {
		size = fmt.Sprint(s)
	}
	live, err := tx.Allocations(ctx, inventory.AllocationFilter{PoolID: p.Entry.ID, Live: true})
	if err != nil {
		return err
	}
	held := 0
	for _, x := range live {
		if x.Status == inventory.AllocHeld {
			held++
		}
	}
	msg := fmt.Sprintf("pool %s (%s values) is exhausted: %d asked, %d free; %d granted, %d held", p.Name, size, n, found, len(live)-held, held)
	if len(skipped) > 0 {
		msg += fmt.Sprintf(", %d taken in reality (first: %s: %s)", len(skipped), skipped[0].Value, skipped[0].Reason)
	}
	return schema.FieldErrorf(schema.EEXHAUSTED, "pool", "%s", msg)
}

// taken says why reality holds a value, or "": an entry has it (a VM's
// address as its last collection saw it, a DNS record, a name), or open
// drift carries an object that has it but the store has not taken in.
// The entry the grant is for may hold its own value.
func (a *Allocator) taken(ctx context.Context, tx *inventory.Tx, p *Pool, v string, t *target) (string, error) {
	var lookups []inventory.HolderLookup
	var hs []inventory.Holder
	mention := []string{v}
	switch p.Type {
	case IPPool:
		lookups = append(lookups, inventory.HolderLookup{Pairs: a.addressAttrs(), Value: v})
		if addr, perr := netip.ParseAddr(v); perr == nil {
			lookups = append(lookups, inventory.HolderLookup{Pairs: [][2]string{{"dns_record", "fqdn"}}, Value: reverseName(addr)})
		}
	case NamePool:
		if p.Attr == "" {
			h, err := tx.NamedEntry(ctx, p.EntryType, v)
			if err != nil {
				return "", err
			}
			if h != nil {
				hs = append(hs, *h)
			}
		} else {
			lookups = append(lookups, inventory.HolderLookup{Pairs: [][2]string{{p.EntryType, p.Attr}}, Value: v})
		}
		if p.Zone != "" {
			fqdn := v + "." + p.Zone
			lookups, mention = append(lookups, inventory.HolderLookup{Pairs: [][2]string{{"dns_record", "fqdn"}}, Value: fqdn}), append(mention, fqdn)
		}
	}
	// One statement for the lookups: this runs for every candidate, under
	// the pool's lock.
	more, err := tx.HoldersOfAny(ctx, lookups)
	if err != nil {
		return "", err
	}
	for _, h := range append(hs, more...) {
		if t != nil && t.entry != nil && h.ID == t.entry.ID {
			continue
		}
		return a.heldBy(ctx, tx, h)
	}
	for _, m := range mention {
		ds, err := tx.OpenDriftMentioning(ctx, m)
		if err != nil || len(ds) > 0 {
			return inDrift(ds), err
		}
	}
	return "", nil
}

// heldBy says which entry holds a value, and which collection saw it.
func (a *Allocator) heldBy(ctx context.Context, tx *inventory.Tx, h inventory.Holder) (string, error) {
	what := h.Type + " " + h.Name
	if h.Attr != "" {
		what += " has it (" + h.Attr + ")"
	} else {
		what += " is named so"
	}
	scope, snap, at, err := tx.LastSeen(ctx, h.ID)
	if err != nil || scope == "" {
		return what + ", in the store", err
	}
	return fmt.Sprintf("%s, seen by %s at %s (snapshot %s)", what, scope, at.Format(time.RFC3339), snap), nil
}

// inDrift says which open drift shows reality holding a value.
func inDrift(ds []inventory.DriftRecord) string {
	if len(ds) == 0 {
		return ""
	}
	var d struct {
		Snapshot string `json:"snapshot_id"`
	}
	_ = json.Unmarshal([]byte(ds[0].Data), &d) // the snapshot is a detail of the reason
	return fmt.Sprintf("reality has it but the store does not yet: open %s drift of %s %s in %s (snapshot %s)",
		ds[0].Kind, ds[0].Type, ds[0].EntryName, ds[0].Scope, d.Snapshot)
}

// addressAttrs are the attributes that hold addresses: every attribute of
// type ip (or a list of them) of every type, and DNS records' values.
func (a *Allocator) addressAttrs() [][2]string {
	out := [][2]string{{"dns_record", "value"}}
	for _, t := range a.store.Registry().Types() {
		for _, at := range t.Attributes {
			if at.Type.Kind == schema.KindIP && !at.Secret {
				out = append(out, [2]string{t.Name, at.Name})
			}
		}
	}
	return out
}

// reverseName is an address's in-addr.arpa or ip6.arpa name.
func reverseName(a netip.Addr) string {
	b := a.AsSlice()
	var sb strings.Builder
	if a.Is4() {
		for i := len(b) - 1; i >= 0; i-- {
			fmt.Fprintf(&sb, "%d.", b[i])
		}
		return sb.String() + "in-addr.arpa."
	}
	for i := len(b) - 1; i >= 0; i-- {
		fmt.Fprintf(&sb, "%x.%x.", b[i]&0xf, b[i]>>4)
	}
	return sb.String() + "ip6.arpa."
}
