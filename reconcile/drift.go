package reconcile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/tana-cmdb/tana/collectors"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// Kind is what sort of drift an item is.
type Kind string

const (
	MissingInStore   Kind = "missing_in_store"   // reality has it, the store does not
	MissingInReality Kind = "missing_in_reality" // the store has it, its source no longer reports it
	Changed          Kind = "changed"            // one attribute differs
	Conflict         Kind = "conflict"           // sources disagree, or identification is ambiguous
)

// CrossScope is the scope of drift found by comparing sources (VM versus DNS).
const CrossScope = "cross"

// Item is one drift item.
type Item struct {
	ID        string           `json:"id,omitempty"`
	Kind      Kind             `json:"kind"`
	Type      string           `json:"type"`
	Scope     string           `json:"scope"`
	Source    string           `json:"source,omitempty"` // configured source name ("vc1", "dns1")
	EntryID   int64            `json:"entry_id,omitempty"`
	EntryName string           `json:"entry_name,omitempty"`
	Version   int64            `json:"entry_version,omitempty"`
	ObjectID  string           `json:"object_id,omitempty"`
	Attr      string           `json:"attr,omitempty"`
	Store     any              `json:"store,omitempty"`
	Actual    any              `json:"actual,omitempty"`
	Authority schema.Authority `json:"authority,omitempty"`
	Message   string           `json:"message,omitempty"`
	// Object is the object as seen, for missing_in_store (what to create).
	Object *collectors.Object `json:"object,omitempty"`
	// Fix is the change to reality that would close declared drift.
	Fix        *collectors.Fix `json:"fix,omitempty"`
	SnapshotID string          `json:"snapshot_id,omitempty"`
	FirstSeen  time.Time       `json:"first_seen"`
	LastSeen   time.Time       `json:"last_seen"`
	ResolvedAt *time.Time      `json:"resolved_at,omitempty"`
	ResolvedBy string          `json:"resolved_by,omitempty"` // "collect <scope>", "apply of plan <id>", "cross-check"
}

// Key identifies the same drift across runs.
func (it *Item) Key() string {
	id := it.ObjectID
	if it.EntryID != 0 && it.Kind != MissingInStore {
		id = fmt.Sprint(it.EntryID)
	}
	if it.Kind == Conflict && it.ObjectID != "" {
		id = it.ObjectID
	}
	return it.Scope + "|" + string(it.Kind) + "|" + it.Type + "|" + id + "|" + it.Attr + "|" + it.conflictTag()
}

// conflictTag keeps distinct conflicts about one object apart.
func (it *Item) conflictTag() string {
	if it.Kind != Conflict {
		return ""
	}
	return it.Message
}

func (it *Item) String() string {
	switch it.Kind {
	case Changed:
		return fmt.Sprintf("%s %s/%s.%s: store %v, actual %v (%s)", it.Kind, it.Type, it.EntryName, it.Attr, show(it.Store), show(it.Actual), it.Authority)
	case Conflict:
		return fmt.Sprintf("%s %s/%s: %s", it.Kind, it.Type, it.name(), it.Message)
	}
	if it.Message != "" {
		return fmt.Sprintf("%s %s/%s (%s): %s", it.Kind, it.Type, it.name(), it.Scope, it.Message)
	}
	return fmt.Sprintf("%s %s/%s (%s)", it.Kind, it.Type, it.name(), it.Scope)
}

func (it *Item) name() string {
	if it.EntryName != "" {
		return it.EntryName
	}
	if it.Object != nil && it.Object.Name != "" {
		return it.Object.Name
	}
	return it.ObjectID
}

func show(v any) string {
	if v == nil {
		return "(none)"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// Pin fingerprints what the item says about reality and the store: its
// kind, target, values, the object seen and the fix it asks for. A plan
// keeps the pin of every drift item it fixes; if the item's pin moved
// since (a newer collection saw other values, or the store changed), the
// plan no longer fixes what it says and apply refuses it. Times, the
// snapshot and the message are left out: they change without the drift
// changing.
func (it *Item) Pin() string {
	b, err := json.Marshal(struct {
		Kind      Kind               `json:"k"`
		Type      string             `json:"t"`
		Scope     string             `json:"s"`
		EntryID   int64              `json:"e,omitempty"`
		ObjectID  string             `json:"o,omitempty"`
		Attr      string             `json:"a,omitempty"`
		Store     any                `json:"st,omitempty"`
		Actual    any                `json:"ac,omitempty"`
		Authority schema.Authority   `json:"au,omitempty"`
		Object    *collectors.Object `json:"ob,omitempty"`
		Fix       *collectors.Fix    `json:"f,omitempty"`
	}{it.Kind, it.Type, it.Scope, it.EntryID, it.ObjectID, it.Attr, it.Store, it.Actual, it.Authority, it.Object, pinnedFix(it.Fix)})
	if err != nil {
		return "" // values are JSON already (they came from JSON or the store)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// pinnedFix is what of a reality fix a pin covers: all of a create or a
// delete, but of an update only the value it changes and the object it
// changes — a VM's power state moving on does not make its owner's fix
// another one.
func pinnedFix(f *collectors.Fix) *collectors.Fix {
	if f == nil || f.Op != collectors.OpUpdate {
		return f
	}
	return &collectors.Fix{Scope: f.Scope, Op: f.Op, Object: collectors.Object{Type: f.Object.Type, ID: f.Object.ID, Name: f.Object.Name},
		Attr: f.Attr, Old: f.Old, New: f.New}
}

// record turns an item into its stored form.
func (it *Item) record() (inventory.DriftRecord, error) {
	c := *it
	c.ID, c.FirstSeen, c.LastSeen, c.ResolvedAt, c.ResolvedBy = "", time.Time{}, time.Time{}, nil, ""
	b, err := json.Marshal(&c)
	if err != nil {
		return inventory.DriftRecord{}, fmt.Errorf("encode drift %s: %w", it, err)
	}
	r := inventory.DriftRecord{Key: it.Key(), Kind: string(it.Kind), Type: it.Type, Scope: it.Scope,
		EntryName: it.name(), Attr: it.Attr, Data: string(b)}
	if it.EntryID != 0 {
		id := it.EntryID
		r.EntryID = &id
	}
	return r, nil
}

func fromRecord(r inventory.DriftRecord) (Item, error) {
	var it Item
	if err := json.Unmarshal([]byte(r.Data), &it); err != nil {
		return it, fmt.Errorf("decode drift %s: %w", r.ID, err)
	}
	it.ID, it.FirstSeen, it.LastSeen, it.ResolvedAt, it.ResolvedBy = r.ID, r.FirstSeen, r.LastSeen, r.ResolvedAt, r.ResolvedBy
	return it, nil
}

// Filter selects drift items and scopes plans. Zero fields match all.
type Filter struct {
	Source   string `json:"source,omitempty"` // scope ("vsphere:vc1"), source kind ("vsphere", "cross") or source name ("dns1")
	Type     string `json:"type,omitempty"`
	Kind     Kind   `json:"kind,omitempty"`
	Entry    string `json:"entry,omitempty"` // entry name
	Resolved bool   `json:"resolved,omitempty"`
	Since    time.Time
}

func (f Filter) match(it *Item) bool {
	if f.Source != "" && it.Scope != f.Source && !hasPrefix(it.Scope, f.Source+":") && it.Source != f.Source {
		return false
	}
	return f.Entry == "" || it.name() == f.Entry
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

// Drift returns the drift items matching f, open ones unless f.Resolved.
func (e *Engine) Drift(ctx context.Context, f Filter) ([]Item, error) {
	recs, err := e.store.Drift(ctx, inventory.DriftFilter{Type: f.Type, Kind: string(f.Kind), Resolved: f.Resolved, Since: f.Since})
	if err != nil {
		return nil, err
	}
	out := make([]Item, 0, len(recs))
	for _, r := range recs {
		it, err := fromRecord(r)
		if err != nil {
			return nil, err
		}
		if f.match(&it) {
			out = append(out, it)
		}
	}
	return out, nil
}

// sortItems orders items for stable output: scope, kind, type, name, attr.
func sortItems(items []Item) {
	sort.SliceStable(items, func(i, j int) bool {
		a, b := &items[i], &items[j]
		if a.Scope != b.Scope {
			return a.Scope < b.Scope
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		if a.name() != b.name() {
			return a.name() < b.name()
		}
		return a.Attr < b.Attr
	})
}

// syncDrift stores items as the open drift of scope; open items not among
// them are resolved as res allows.
func syncDrift(ctx context.Context, tx *inventory.Tx, scope string, items []Item, res inventory.Resolution) error {
	recs := make([]inventory.DriftRecord, 0, len(items))
	seen := make(map[string]bool, len(items))
	for i := range items {
		r, err := items[i].record()
		if err != nil {
			return err
		}
		if seen[r.Key] {
			continue
		}
		seen[r.Key] = true
		recs = append(recs, r)
	}
	return tx.SyncDrift(ctx, scope, recs, res)
}
