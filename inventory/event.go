package inventory

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/tana-cmdb/tana/schema"
)

// Event is one outbox row: what happened (Type) to what (Subject), when,
// and its data as JSON. EntityType, Scope, Kind and Owner are what
// subscriptions filter on. An entry event's actor, source and reason are
// its change set's (Actor, Source, Reason are filled when read).
type Event struct {
	ID          int64     `json:"id" db:"id"`
	UID         string    `json:"uid" db:"uid"`
	Type        string    `json:"type" db:"type"`
	Subject     string    `json:"subject" db:"subject"`
	At          time.Time `json:"at" db:"at"`
	ChangeSetID *string   `json:"changeset_id,omitempty" db:"changeset_id"`
	EntityType  string    `json:"entity_type,omitempty" db:"entity_type"`
	Scope       string    `json:"scope,omitempty" db:"scope"`
	Kind        string    `json:"kind,omitempty" db:"kind"`
	Owner       string    `json:"owner,omitempty" db:"owner"`
	Data        string    `json:"data" db:"data"`
	Actor       string    `json:"actor,omitempty" db:"actor"`
	Source      string    `json:"source,omitempty" db:"source"`
	Reason      string    `json:"reason,omitempty" db:"reason"`
}

var eventCols = []string{"uid", "type", "subject", "at", "entity_type", "scope", "kind", "owner", "data"}

// Emit writes events into the outbox in the transaction: they are
// delivered if, and only if, the transaction commits.
func (tx *Tx) Emit(ctx context.Context, evs ...Event) error {
	if len(evs) == 0 {
		return nil
	}
	rows := make([]any, 0, len(evs)*len(eventCols))
	for _, e := range evs {
		if e.Type == "" || e.Subject == "" {
			return schema.FieldErrorf(schema.EINVALID, "event", "an event needs a type and a subject")
		}
		if e.At.IsZero() {
			e.At = tx.now
		}
		if e.Data == "" {
			e.Data = "{}"
		}
		rows = append(rows, newEventUID(), e.Type, e.Subject, e.At.UTC(), e.EntityType, e.Scope, e.Kind, e.Owner, e.Data)
	}
	if err := tx.insertMany(ctx, "events", eventCols, rows); err != nil {
		return fmt.Errorf("write %d events: %w", len(evs), err)
	}
	return nil
}

func newEventUID() string { return uuid.Must(uuid.NewV7()).String() }

// entryEvents writes the events of a batch's writes, beside their
// versions: one row per changed entry, through the batch's statement
// queue (COPY on PostgreSQL). changes is what insertVersions wrote for w.
type entryEvents struct {
	rw  *rowWriter
	buf []byte
}

func (tx *Tx) entryEvents(ctx context.Context, cs string, meta Meta) (*entryEvents, error) {
	rw := tx.sharedWriter("events", []string{"changeset_id", "at", "scope"}, "uid", "type", "subject", "entity_type", "owner", "data")
	if err := rw.share(ctx, cs, tx.now, cmp.Or(meta.Source, "api")); err != nil {
		return nil, err
	}
	return &entryEvents{rw: rw}, nil
}

// add queues w's event; changes is its version's JSON (a create's
// attributes, an update's changes).
func (ee *entryEvents) add(ctx context.Context, w *write, version int64, changes []byte) error {
	typ := entryEventType(w.op)
	b := append(ee.buf[:0], `{"entry_id":`...)
	b = strconv.AppendInt(b, w.id, 10)
	b = append(b, `,"type":`...)
	b = schema.AppendJSONString(b, w.t.Name)
	b = append(b, `,"name":`...)
	b = schema.AppendJSONString(b, w.name)
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, version, 10)
	b = append(b, `,"op":"`...)
	b = append(b, w.op...)
	if w.op == OpCreate {
		b = append(b, `","attrs":`...)
	} else {
		b = append(b, `","changes":`...)
	}
	b = append(b, changes...)
	if w.op == OpDelete || w.op == OpRestore {
		// The consumer of a delete wants what went away.
		var err error
		b = append(b, `,"attrs":`...)
		if b, err = schema.AppendJSON(b, w.attrs); err != nil {
			return w.errorf(schema.EINVALID, "attrs", "%v", err)
		}
	}
	b = append(b, '}')
	ee.buf = b
	owner, _ := w.attrs["owner"].(string)
	return ee.rw.add(ctx, newEventUID(), typ, w.t.Name+"/"+w.name, w.t.Name, owner, string(b))
}

func entryEventType(op Op) string {
	switch op {
	case OpCreate:
		return schema.EventEntryCreated
	case OpDelete:
		return schema.EventEntryDeleted
	case OpRestore:
		return schema.EventEntryRestored
	}
	return schema.EventEntryUpdated
}

// driftEvent is the event of a drift item detected or resolved: its kind,
// scope, entry and attribute, and the engine's item (old and new values).
func driftEvent(typ string, r DriftRecord) (Event, error) {
	item := json.RawMessage(r.Data)
	if !json.Valid(item) {
		item = json.RawMessage("null")
	}
	data, err := json.Marshal(struct {
		DriftRecord
		Item json.RawMessage `json:"item"`
	}{r, item})
	if err != nil {
		return Event{}, fmt.Errorf("drift event of %s: %w", r.ID, err)
	}
	subject := r.Type + "/" + r.EntryName
	if r.EntryName == "" {
		subject = "drift/" + r.Key
	}
	return Event{Type: typ, Subject: subject, EntityType: r.Type, Scope: r.Scope, Kind: r.Kind, Data: string(data)}, nil
}

// driftEvents makes the events of drift items detected or resolved.
func driftEvents(typ string, rs []DriftRecord) ([]Event, error) {
	out := make([]Event, 0, len(rs))
	for _, r := range rs {
		e, err := driftEvent(typ, r)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// planEvent is the event of a plan made or ended.
func planEvent(typ string, p PlanRecord) (Event, error) {
	data, err := json.Marshal(p)
	if err != nil {
		return Event{}, fmt.Errorf("plan event of %s: %w", p.ID, err)
	}
	return Event{Type: typ, Subject: "plan/" + p.ID, Kind: p.Status, Data: string(data)}, nil
}

// allocationEvents makes the events of values granted or released.
func allocationEvents(typ string, as []Allocation) ([]Event, error) {
	out := make([]Event, 0, len(as))
	for _, a := range as {
		data, err := json.Marshal(a)
		if err != nil {
			return nil, fmt.Errorf("allocation event of %s: %w", a.Value, err)
		}
		out = append(out, Event{Type: typ, Subject: "pool/" + strconv.FormatInt(a.PoolID, 10) + "/" + a.Value, Data: string(data)})
	}
	return out, nil
}
