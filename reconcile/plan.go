package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/google/uuid"

	"github.com/tana-cmdb/tana/collectors"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// Direction says which side a fix changes.
type Direction string

const (
	ToStore   Direction = "store"   // observed drift: the store is behind
	ToReality Direction = "reality" // declared drift: reality is wrong
	NoFix     Direction = "none"    // reported for review only (conflicts)
)

// Action is what a store fix does.
type Action string

const (
	ActCreate Action = "create"
	ActUpdate Action = "update"
	ActRename Action = "rename"
	ActDelete Action = "delete"
	ActFix    Action = "fix" // change reality through a Fixer
	ActReview Action = "review"
)

// Fix is one step of a plan.
type Fix struct {
	Drift     string           `json:"drift"` // the drift item's key
	DriftID   string           `json:"drift_id,omitempty"`
	Kind      Kind             `json:"kind"`
	Type      string           `json:"type"`
	Scope     string           `json:"scope"`
	EntryID   int64            `json:"entry_id,omitempty"`
	EntryName string           `json:"entry_name,omitempty"`
	ObjectID  string           `json:"object_id,omitempty"`
	Attr      string           `json:"attr,omitempty"`
	Direction Direction        `json:"direction"`
	Action    Action           `json:"action"`
	Authority schema.Authority `json:"authority,omitempty"`
	Name      string           `json:"name,omitempty"`  // create, rename: the new name
	Attrs     map[string]any   `json:"attrs,omitempty"` // create: all; update: the one attribute
	Reality   *collectors.Fix  `json:"reality,omitempty"`
	Policy    string           `json:"policy"` // apply | propose
	Message   string           `json:"message,omitempty"`
	// Pin is the drift item's Pin when the plan was made; Store and
	// Actual are its values then, to say what moved when it goes stale.
	Pin    string `json:"pin,omitempty"`
	Store  any    `json:"store,omitempty"`
	Actual any    `json:"actual,omitempty"`
}

func (f *Fix) String() string {
	switch f.Action {
	case ActCreate:
		return fmt.Sprintf("+ create %s %q (from %s)", f.Type, f.Name, f.Scope)
	case ActRename:
		return fmt.Sprintf("~ rename %s %q → %q", f.Type, f.EntryName, f.Name)
	case ActUpdate:
		return fmt.Sprintf("~ update %s %q %s → %s", f.Type, f.EntryName, f.Attr, show(f.Attrs[f.Attr]))
	case ActDelete:
		return fmt.Sprintf("- delete %s %q (%s)", f.Type, f.EntryName, f.Message)
	case ActFix:
		return fmt.Sprintf("> %s", f.Reality)
	}
	return fmt.Sprintf("? review %s %q: %s", f.Type, f.EntryName, f.Message)
}

// subject names what a fix is about: "vm web1.cpus (vsphere:vc1)".
func (f *Fix) subject() string {
	name := f.EntryName
	if name == "" {
		name = f.Name
	}
	if name == "" {
		name = f.ObjectID
	}
	s := f.Type + " " + name
	if f.Attr != "" {
		s += "." + f.Attr
	}
	return s + " (" + f.Scope + ")"
}

// Plan is a stored list of fixes with what it was computed from.
type Plan struct {
	ID        string           `json:"id"`
	Actor     string           `json:"actor"`
	Status    string           `json:"status"`
	Filter    Filter           `json:"filter"`
	Fixes     []Fix            `json:"fixes"`
	Versions  map[int64]int64  `json:"versions"` // entry id → version the plan saw
	Snapshots []string         `json:"snapshots,omitempty"`
	CreatedAt time.Time        `json:"created_at"`
	AppliedAt *time.Time       `json:"applied_at,omitempty"`
	Error     string           `json:"error,omitempty"`
	Counts    map[string]int64 `json:"counts,omitempty"` // live entries per type, for the change limit
	RunID     string           `json:"run_id,omitempty"` // the run applying it, or that applied it
}

// fixFor turns a drift item into the fix that would close it, with the
// type's policy deciding whether it may be applied without review.
func (e *Engine) fixFor(it *Item) Fix {
	p := e.policy(it.Type)
	f := Fix{Drift: it.Key(), DriftID: it.ID, Kind: it.Kind, Type: it.Type, Scope: it.Scope, EntryID: it.EntryID, EntryName: it.EntryName,
		ObjectID: it.ObjectID, Attr: it.Attr, Authority: it.Authority, Message: it.Message, Policy: "propose",
		Pin: it.Pin(), Store: it.Store, Actual: it.Actual}
	switch {
	case it.Kind == MissingInStore && it.Object != nil:
		f.Direction, f.Action, f.Name, f.Attrs, f.Policy = ToStore, ActCreate, it.Object.Name, it.Object.Attrs, p.Observed
		f.Authority = schema.Observed
	case it.Kind == Changed && it.Authority == schema.Observed && it.Attr == "name":
		f.Direction, f.Action, f.Name, f.Policy = ToStore, ActRename, fmt.Sprint(it.Actual), p.Observed
	case it.Kind == Changed && it.Authority == schema.Observed:
		f.Direction, f.Action, f.Attrs, f.Policy = ToStore, ActUpdate, map[string]any{it.Attr: it.Actual}, p.Observed
	case it.Fix != nil && p.Declared != "ignore":
		f.Direction, f.Action, f.Reality, f.Policy = ToReality, ActFix, it.Fix, p.Declared
	case it.Kind == MissingInReality && it.Scope != CrossScope && it.ObjectID != "":
		// Deletion normally follows the stale window; a plan proposes it
		// for review and counts it against max_deletes.
		f.Direction, f.Action = ToStore, ActDelete
	default:
		f.Direction, f.Action = NoFix, ActReview
	}
	return f
}

// MakePlan stores a plan of fixes for the open drift that f selects. It
// is a run: it first brings the cross-source drift up to date with the
// store (a person may just have declared a VM's dns_name), then plans. A
// drift item whose entry changed since the item was computed is planned
// for review only: its fix may no longer be right, and the next
// collection computes it again.
func (e *Engine) MakePlan(ctx context.Context, f Filter) (*Plan, error) {
	source := f.Source
	if source == "" {
		source = "all"
	}
	run, err := e.begin(ctx, "plan", source, time.Time{})
	if err != nil {
		return nil, err
	}
	defer e.guard(ctx, run)
	p, err := e.makePlan(run.Context(), run, f)
	fixes := 0
	if p != nil {
		fixes = p.Actionable()
	}
	e.end(ctx, run, 0, fixes, err, nil)
	return p, err
}

func (e *Engine) makePlan(ctx context.Context, run *inventory.Run, f Filter) (*Plan, error) {
	if err := e.crossCheck(ctx, run); err != nil {
		return nil, fmt.Errorf("cross-source check: %w", err)
	}
	items, err := e.Drift(ctx, f)
	if err != nil {
		return nil, err
	}
	p := &Plan{ID: uuid.Must(uuid.NewV7()).String(), Actor: e.opts.Actor, Status: inventory.PlanProposed, Filter: f,
		Versions: map[int64]int64{}, Counts: map[string]int64{}}
	current, err := e.store.GetMany(ctx, entryIDs(items))
	if err != nil {
		return nil, err
	}
	snaps := map[string]bool{}
	for i := range items {
		it := &items[i]
		fix := e.fixFor(it)
		if it.EntryID != 0 {
			en := current[it.EntryID]
			if en == nil || en.Deleted() {
				continue // gone since the drift was seen
			}
			if it.Version != 0 && it.Version != en.Version {
				fix.Direction, fix.Action, fix.Policy = NoFix, ActReview, "propose"
				fix.Message = fmt.Sprintf("%s changed since this drift was seen (version %d, now %d): the next collection computes it again",
					en, it.Version, en.Version)
			} else {
				p.Versions[it.EntryID] = en.Version
			}
		}
		p.Fixes = append(p.Fixes, fix)
		if it.SnapshotID != "" {
			snaps[it.SnapshotID] = true
		}
		if _, ok := p.Counts[it.Type]; !ok && it.Type != "" {
			n, err := e.store.Count(ctx, inventory.Query{Type: it.Type})
			if err != nil {
				return nil, err
			}
			p.Counts[it.Type] = n
		}
	}
	for s := range snaps {
		p.Snapshots = append(p.Snapshots, s)
	}
	sort.Strings(p.Snapshots)
	if err := e.savePlan(ctx, p); err != nil {
		return nil, err
	}
	e.log.Info("plan made", "plan", p.ID, "fixes", len(p.Fixes), "entries", len(p.Versions))
	return p, nil
}

func (e *Engine) savePlan(ctx context.Context, p *Plan) error {
	return e.store.InTx(ctx, func(tx *inventory.Tx) error {
		p.CreatedAt = tx.Now()
		b, err := json.Marshal(p)
		if err != nil {
			return fmt.Errorf("encode plan: %w", err)
		}
		filter, _ := json.Marshal(p.Filter)
		return tx.SavePlan(ctx, &inventory.PlanRecord{ID: p.ID, Actor: p.Actor, Status: p.Status, Filter: string(filter),
			Fixes: len(p.Fixes), Data: string(b)})
	})
}

func entryIDs(items []Item) []int64 {
	var ids []int64
	for i := range items {
		if items[i].EntryID != 0 {
			ids = append(ids, items[i].EntryID)
		}
	}
	return ids
}

// Plan returns a stored plan.
func (e *Engine) Plan(ctx context.Context, id string) (*Plan, error) {
	r, err := e.store.Plan(ctx, id)
	if err != nil {
		return nil, err
	}
	var p Plan
	if err := json.Unmarshal([]byte(r.Data), &p); err != nil {
		return nil, fmt.Errorf("decode plan %s: %w", id, err)
	}
	p.Status, p.AppliedAt, p.Error, p.RunID = r.Status, r.AppliedAt, r.Error, r.RunID
	return &p, nil
}

// Plans lists stored plans, newest first, without their fixes.
func (e *Engine) Plans(ctx context.Context, limit int) ([]inventory.PlanRecord, error) {
	return e.store.Plans(ctx, limit)
}

// Actionable reports how many fixes would change something.
func (p *Plan) Actionable() int {
	n := 0
	for i := range p.Fixes {
		if p.Fixes[i].Direction != NoFix {
			n++
		}
	}
	return n
}
