package vsphere

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tana-cmdb/tana/collectors"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// watcher runs Watch in the background and exposes its callbacks.
type watcher struct {
	fulls   chan *collectors.Snapshot
	changes chan collectors.Change
	done    chan error
}

func startWatch(t *testing.T, c *Collector) *watcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &watcher{fulls: make(chan *collectors.Snapshot, 4), changes: make(chan collectors.Change, 256), done: make(chan error, 1)}
	go func() {
		w.done <- c.Watch(ctx,
			func(s *collectors.Snapshot) error { w.fulls <- s; return nil },
			func(ch collectors.Change) error { w.changes <- ch; return nil })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-w.done; !errors.Is(err, context.Canceled) {
			t.Errorf("Watch returned %v, want context.Canceled", err)
		}
	})
	return w
}

func (w *watcher) full(t *testing.T, within time.Duration) *collectors.Snapshot {
	t.Helper()
	select {
	case s := <-w.fulls:
		return s
	case <-time.After(within):
		t.Fatalf("no full snapshot within %v", within)
		return nil
	}
}

// expect waits up to 2 s for a change matching ok and returns the latency.
func (w *watcher) expect(t *testing.T, what string, start time.Time, ok func(collectors.Change) bool) time.Duration {
	t.Helper()
	deadline := time.After(2 * time.Second)
	for {
		select {
		case ch := <-w.changes:
			if ok(ch) {
				d := time.Since(start)
				t.Logf("%s seen after %v", what, d.Round(time.Millisecond))
				return d
			}
		case <-deadline:
			t.Fatalf("%s: no change within 2s", what)
		}
	}
}

func upsert(id string, ok func(collectors.Object) bool) func(collectors.Change) bool {
	return func(ch collectors.Change) bool {
		for _, o := range ch.Upserts {
			if o.Type == "vm" && (id == "" || o.ID == id) && ok(o) {
				return true
			}
		}
		return false
	}
}

func TestWatchSeesChanges(t *testing.T) {
	s := newSim(t, 1)
	cfg := s.config()
	cfg.Timeout = 4 * time.Second
	w := startWatch(t, newCollector(t, cfg, nil))
	snap := w.full(t, 10*time.Second)
	if !snap.Complete {
		t.Fatalf("first full snapshot incomplete: %v", snap.Errors)
	}
	vmObj := mustObject(t, snap, "vm", "DC0_H0_VM0")

	ctx := context.Background()
	admin := s.client(t)
	f := find.NewFinder(admin.Client)
	dc, err := f.DefaultDatacenter(ctx)
	must(t, err)
	f.SetDatacenter(dc)
	vm, err := f.VirtualMachine(ctx, "DC0_H0_VM0")
	must(t, err)

	start := time.Now()
	task, err := vm.Rename(ctx, "renamed")
	must(t, err)
	must(t, task.Wait(ctx))
	w.expect(t, "rename", start, upsert(vmObj.ID, func(o collectors.Object) bool { return o.Name == "renamed" }))

	start = time.Now()
	task, err = vm.Reconfigure(ctx, types.VirtualMachineConfigSpec{NumCPUs: 3})
	must(t, err)
	must(t, task.Wait(ctx))
	w.expect(t, "resize", start, upsert(vmObj.ID, func(o collectors.Object) bool { return o.Attrs["cpus"] == int64(3) }))

	start = time.Now()
	task, err = vm.PowerOff(ctx)
	must(t, err)
	must(t, task.Wait(ctx))
	w.expect(t, "power off", start, upsert(vmObj.ID, func(o collectors.Object) bool { return o.Attrs["power_state"] == "poweredOff" }))

	start = time.Now()
	created := createVM(t, f, dc, "fresh")
	w.expect(t, "create", start, upsert("", func(o collectors.Object) bool {
		return o.Name == "fresh" && o.Attrs["moref"] == created.Reference().Value && o.Attrs["instance_uuid"] != nil
	}))

	start = time.Now()
	task, err = vm.Destroy(ctx)
	must(t, err)
	must(t, task.Wait(ctx))
	w.expect(t, "destroy", start, func(ch collectors.Change) bool {
		for _, d := range ch.Deletes {
			if d == ref("vm", vmObj.ID) {
				return true
			}
		}
		return false
	})
}

func createVM(t *testing.T, f *find.Finder, dc *object.Datacenter, name string) *object.VirtualMachine {
	t.Helper()
	ctx := context.Background()
	folders, err := dc.Folders(ctx)
	must(t, err)
	pool, err := f.ResourcePool(ctx, "DC0_H0/Resources")
	must(t, err)
	host, err := f.HostSystem(ctx, "DC0_H0")
	must(t, err)
	task, err := folders.VmFolder.CreateVM(ctx, types.VirtualMachineConfigSpec{
		Name: name, GuestId: string(types.VirtualMachineGuestOsIdentifierOtherGuest), NumCPUs: 1, MemoryMB: 64,
		Files: &types.VirtualMachineFileInfo{VmPathName: "[LocalDS_0]"},
	}, pool, host)
	must(t, err)
	info, err := task.WaitForResult(ctx, nil)
	must(t, err)
	return object.NewVirtualMachine(dc.Client(), info.Result.(types.ManagedObjectReference))
}

func TestWatchRestartsWithFullSnapshotAfterSessionLoss(t *testing.T) {
	s := newSim(t, 1)
	cfg := s.config()
	cfg.Timeout = 2 * time.Second
	w := startWatch(t, newCollector(t, cfg, nil))
	w.full(t, 10*time.Second)

	ctx := context.Background()
	admin := s.client(t)
	own, err := admin.SessionManager.UserSession(ctx)
	must(t, err)
	var sm mo.SessionManager
	must(t, property.DefaultCollector(admin.Client).RetrieveOne(ctx, *admin.ServiceContent.SessionManager, []string{"sessionList"}, &sm))
	var drop []string
	for _, us := range sm.SessionList {
		if us.Key != own.Key {
			drop = append(drop, us.Key)
		}
	}
	must(t, admin.SessionManager.TerminateSession(ctx, drop))
	snap := w.full(t, 10*time.Second)
	if !snap.Complete || len(snap.Objects) == 0 {
		t.Fatalf("full snapshot after reconnect: complete=%v objects=%d", snap.Complete, len(snap.Objects))
	}
}
