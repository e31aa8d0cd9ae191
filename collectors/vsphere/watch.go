package vsphere

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/tana-cmdb/tana/collectors"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/types"
)

// Watch sends a full snapshot, then every change WaitForUpdatesEx reports
// on the same view and filter, until ctx ends. After a lost connection or
// session it reconnects (with backoff) and starts again with a full snapshot.
// An error returned by full or change stops the watch and is returned.
func (c *Collector) Watch(ctx context.Context, full func(*collectors.Snapshot) error, change func(collectors.Change) error) error {
	const maxBackoff = 30 * time.Second
	backoff := time.Second
	for {
		synced, err := c.watchSession(ctx, full, change)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var cb *callbackError
		if errors.As(err, &cb) {
			return cb.err
		}
		if synced {
			backoff = time.Second
		}
		c.log.Warn("vsphere watch interrupted; reconnecting", "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// callbackError marks an error of the caller's callback, which ends Watch.
type callbackError struct{ err error }

func (e *callbackError) Error() string { return e.err.Error() }

// watchSession runs one connection's worth of watching. synced reports
// whether the initial full snapshot was delivered.
func (c *Collector) watchSession(ctx context.Context, full func(*collectors.Snapshot) error, change func(collectors.Change) error) (synced bool, err error) {
	cn, err := dial(ctx, c.cfg, c.log, c.wrap)
	if err != nil {
		return false, err
	}
	bg := context.WithoutCancel(ctx)
	defer func() { _ = cn.close(bg) }()

	// A private collector keeps our filter and update versions apart from
	// anyone else using the session's default collector.
	pcRes, err := methods.CreatePropertyCollector(ctx, cn.vim, &types.CreatePropertyCollector{This: cn.vim.ServiceContent.PropertyCollector})
	if err != nil {
		return false, fmt.Errorf("vsphere %s: create property collector: %w", c.cfg.Name, err)
	}
	pc := pcRes.Returnval
	defer func() { _, _ = methods.DestroyPropertyCollector(bg, cn.vim, &types.DestroyPropertyCollector{This: pc}) }()
	view, err := cn.createView(ctx)
	if err != nil {
		return false, err
	}
	defer cn.destroyView(bg, view)
	_, err = methods.CreateFilter(ctx, cn.vim, &types.CreateFilter{This: pc, Spec: cn.filterSpec(view)})
	if err != nil {
		return false, fmt.Errorf("vsphere %s: create filter: %w", c.cfg.Name, err)
	}

	w := &watchState{c: c, cn: cn, pc: pc, inv: inventory{}, objs: map[types.ManagedObjectReference]collectors.Object{}}
	if err := w.initial(ctx, full); err != nil {
		return false, err
	}
	for {
		set, err := w.wait(ctx)
		if err != nil {
			return true, err
		}
		if set == nil {
			continue // MaxWaitSeconds passed without changes
		}
		if err := w.update(ctx, set, change); err != nil {
			return true, err
		}
	}
}

// watchState is the watcher's copy of the inventory, kept current from the
// updates, and the objects last sent, to send only what changed.
type watchState struct {
	c       *Collector
	cn      *conn
	pc      types.ManagedObjectReference
	version string
	inv     inventory
	objs    map[types.ManagedObjectReference]collectors.Object
	tags    map[types.ManagedObjectReference][]string
}

// wait is one WaitForUpdatesEx, bounded below the per-call timeout.
func (w *watchState) wait(ctx context.Context) (*types.UpdateSet, error) {
	secs := max(int32(w.c.cfg.Timeout/time.Second/2), 1)
	res, err := methods.WaitForUpdatesEx(ctx, w.cn.vim, &types.WaitForUpdatesEx{
		This: w.pc, Version: w.version, Options: &types.WaitOptions{MaxWaitSeconds: &secs},
	})
	if err != nil {
		return nil, fmt.Errorf("vsphere %s: wait for updates: %w", w.c.cfg.Name, err)
	}
	if res.Returnval != nil {
		w.version = res.Returnval.Version
	}
	return res.Returnval, nil
}

// initial reads the filter's first (possibly paged) answer, which holds
// every object, and hands it on as a complete snapshot.
func (w *watchState) initial(ctx context.Context, full func(*collectors.Snapshot) error) error {
	snap := w.c.newSnapshot()
	for {
		set, err := w.wait(ctx)
		if err != nil {
			return err
		}
		if set == nil {
			continue
		}
		if _, err := w.apply(set); err != nil {
			return err
		}
		if set.Truncated == nil || !*set.Truncated {
			break
		}
	}
	w.tags = w.c.readTags(ctx, w.cn, w.inv)
	a := newAdapter(w.c.cfg.Name, w.inv, w.tags)
	for ref := range w.inv {
		if o, ok := a.object(ref); ok {
			w.objs[ref] = o
			snap.Objects = append(snap.Objects, o)
		}
	}
	sortObjects(snap.Objects)
	snap.Complete = true
	snap.FinishedAt = w.c.now().UTC()
	w.c.log.Info("vsphere watch synced", "objects", len(snap.Objects), "duration", snap.FinishedAt.Sub(snap.StartedAt))
	if err := full(snap); err != nil {
		return &callbackError{err}
	}
	return nil
}

// update applies one update set and reports the objects that changed.
func (w *watchState) update(ctx context.Context, set *types.UpdateSet, change func(collectors.Change) error) error {
	start := time.Now()
	d, err := w.apply(set)
	if err != nil {
		return err
	}
	w.refetch(ctx, d.refetch)
	ch := w.diff(d)
	if len(ch.Upserts)+len(ch.Deletes) == 0 {
		return nil
	}
	w.c.log.Debug("vsphere watch change", "upserts", len(ch.Upserts), "deletes", len(ch.Deletes), "took", time.Since(start))
	if err := change(ch); err != nil {
		return &callbackError{err}
	}
	return nil
}

// delta is what one update set touched.
type delta struct {
	touched map[types.ManagedObjectReference]bool
	left    []types.ManagedObjectReference
	refetch []types.ManagedObjectReference
	infra   bool // a non-VM object changed: names, paths and refs of VMs may follow
}

// apply folds an update set into the inventory.
func (w *watchState) apply(set *types.UpdateSet) (delta, error) {
	d := delta{touched: map[types.ManagedObjectReference]bool{}}
	paths := requestedPaths()
	for _, fs := range set.FilterSet {
		for _, ou := range fs.ObjectSet {
			ref := ou.Obj
			d.touched[ref] = true
			d.infra = d.infra || ref.Type != "VirtualMachine"
			if ou.Kind == types.ObjectUpdateKindLeave {
				delete(w.inv, ref)
				d.left = append(d.left, ref)
				continue
			}
			r := w.inv[ref]
			unknown := r == nil && ou.Kind != types.ObjectUpdateKindEnter // only part of it is in the update
			if r == nil || ou.Kind == types.ObjectUpdateKindEnter {
				r = &raw{Ref: ref, Props: map[string]any{}}
				w.inv[ref] = r
			}
			if applyChanges(r, ou.ChangeSet, paths) || unknown {
				d.refetch = append(d.refetch, ref)
			}
		}
	}
	return d, nil
}

// applyChanges sets or removes properties. It reports whether the object
// must be read again: a change below a requested path, or a new config
// version (vcsim, unlike vCenter, does not report every config field).
func applyChanges(r *raw, changes []types.PropertyChange, paths map[string]bool) (refetch bool) {
	for _, pc := range changes {
		if !paths[pc.Name] {
			refetch = true
			continue
		}
		switch pc.Op {
		case types.PropertyChangeOpRemove, types.PropertyChangeOpIndirectRemove:
			delete(r.Props, pc.Name)
		default:
			r.Props[pc.Name] = pc.Val
		}
		if pc.Name == "config.changeVersion" {
			refetch = true
		}
	}
	return refetch
}

// requestedPaths is the set of property paths the filter asks for.
func requestedPaths() map[string]bool {
	out := map[string]bool{"field": true}
	for _, ps := range propSet() {
		for _, p := range ps.PathSet {
			out[p] = true
		}
	}
	return out
}

// refetch reads the given objects again, in one call for all of them.
func (w *watchState) refetch(ctx context.Context, refs []types.ManagedObjectReference) {
	if len(refs) == 0 {
		return
	}
	spec := types.PropertyFilterSpec{PropSet: propSet()}
	for _, ref := range refs {
		spec.ObjectSet = append(spec.ObjectSet, types.ObjectSpec{Obj: ref})
	}
	inv, err := w.cn.retrieve(ctx, spec)
	if err != nil {
		w.c.log.Warn("vsphere watch: re-reading changed objects", "objects", len(refs), "err", err)
	}
	for ref, r := range inv {
		if _, ok := w.inv[ref]; ok {
			w.inv[ref] = r
		}
	}
}

// diff adapts what may have changed and keeps only what did.
func (w *watchState) diff(d delta) collectors.Change {
	ch := collectors.Change{Scope: w.c.Scope(), Types: entityTypes()}
	for _, ref := range d.left {
		if prev, ok := w.objs[ref]; ok {
			ch.Deletes = append(ch.Deletes, collectors.Ref{Type: prev.Type, ID: prev.ID})
			delete(w.objs, ref)
		}
	}
	a := newAdapter(w.c.cfg.Name, w.inv, w.tags)
	check := func(ref types.ManagedObjectReference) {
		o, ok := a.object(ref)
		if !ok {
			return
		}
		prev, had := w.objs[ref]
		if had && reflect.DeepEqual(prev, o) {
			return
		}
		if had && prev.ID != o.ID {
			ch.Deletes = append(ch.Deletes, collectors.Ref{Type: prev.Type, ID: prev.ID})
		}
		w.objs[ref] = o
		ch.Upserts = append(ch.Upserts, o)
	}
	if d.infra {
		for ref := range w.inv {
			check(ref)
		}
	} else {
		for ref := range d.touched {
			if _, ok := w.inv[ref]; ok {
				check(ref)
			}
		}
	}
	sortObjects(ch.Upserts)
	return ch
}
