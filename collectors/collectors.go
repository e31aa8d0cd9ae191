// Package collectors defines what a source of actual state looks like to
// tana: a Collector takes a Snapshot of one scope, an optional Watcher
// streams changes, and a Fixer changes reality when a plan says so.
// Implementations live in sub-packages (vsphere, dns); this package never
// imports them.
package collectors

import (
	"context"
	"fmt"
	"time"
)

// Object is one thing a source reports, already mapped to an entity type.
type Object struct {
	// Type is the entity type name (vm, host, dns_record, …).
	Type string `json:"type"`
	// ID is the object's stable identity inside the scope (a VM's instance
	// UUID, a host's moref, a DNS record's "name type value"). Ref values
	// point at other objects of the same snapshot by this ID.
	ID string `json:"id"`
	// Name is the entry name the object should have in the store.
	Name string `json:"name"`
	// Attrs holds observed values, keyed by attribute name, in the canonical
	// forms of package schema. A reference is a Ref or a []Ref. An attribute
	// the source did not report is absent, never nil or empty.
	Attrs map[string]any `json:"attrs"`
}

// Ref points at another object of the same snapshot.
type Ref struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// Snapshot is the state of one scope at one time.
type Snapshot struct {
	// Source is the configured source name ("vc1", "dns1").
	Source string `json:"source"`
	// Kind is the source kind ("vsphere", "dns").
	Kind string `json:"kind"`
	// Scope names what the snapshot covers: "vsphere:vc1", "dns:example.com.".
	Scope string `json:"scope"`
	// Types lists the entity types the scope covers. Only for these may a
	// complete snapshot mark entries as gone.
	Types []string `json:"types"`
	// Complete is true only when every object of the scope was read. An
	// incomplete snapshot must never cause a delete.
	Complete   bool      `json:"complete"`
	Errors     []string  `json:"errors,omitempty"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	Objects    []Object  `json:"objects"`
}

// Fail records err and marks the snapshot incomplete.
func (s *Snapshot) Fail(err error) {
	s.Complete = false
	s.Errors = append(s.Errors, err.Error())
}

// Collector takes snapshots of the scopes of one configured source.
type Collector interface {
	// Name is the configured source name.
	Name() string
	// Collect returns one snapshot per scope (one for a vCenter, one per
	// DNS zone). A scope that failed is returned incomplete with its error,
	// not dropped; the error return is for failures before any scope could
	// be read (bad credentials, unreachable server).
	Collect(ctx context.Context) ([]*Snapshot, error)
}

// Change is one update a Watcher saw: objects created or changed, and IDs
// of objects that are gone, in one scope.
type Change struct {
	Scope   string
	Types   []string
	Upserts []Object
	Deletes []Ref
}

// Watcher streams changes of a source until ctx ends. It calls full with a
// complete snapshot whenever it had to (re)start from scratch, and change
// for each incremental update.
type Watcher interface {
	Watch(ctx context.Context, full func(*Snapshot) error, change func(Change) error) error
}

// Op is what a Fix does to reality.
type Op string

const (
	OpCreate Op = "create" // make Object exist
	OpUpdate Op = "update" // set Attr from Old to New
	OpDelete Op = "delete" // remove Object
)

// Fix is one change to reality that a plan asks a Fixer to make.
type Fix struct {
	// Scope of the change ("vsphere:vc1", "dns:example.com.").
	Scope string `json:"scope"`
	Op    Op     `json:"op"`
	// Object is the object as it must be (create), as it was seen (delete),
	// or as it was seen before the change (update).
	Object Object `json:"object"`
	Attr   string `json:"attr,omitempty"`
	Old    any    `json:"old,omitempty"`
	New    any    `json:"new,omitempty"`
}

func (f Fix) String() string {
	switch f.Op {
	case OpUpdate:
		return fmt.Sprintf("%s %s %s.%s: %v → %v", f.Scope, f.Op, f.Object.Type, f.Attr, f.Old, f.New)
	default:
		return fmt.Sprintf("%s %s %s %s", f.Scope, f.Op, f.Object.Type, f.Object.Name)
	}
}

// Fixer changes reality. Apply makes the fixes of one scope, all or as many
// as it can: it returns one error per fix (nil where it was made), and never
// changes anything a fix did not name. A fix whose precondition (Old, or
// the object as seen) no longer holds must fail, not overwrite.
type Fixer interface {
	// Handles reports whether the fixer owns changes to this scope.
	Handles(scope string) bool
	Apply(ctx context.Context, fixes []Fix) []error
}
