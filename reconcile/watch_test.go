package reconcile_test

import (
	"context"
	"testing"
	"time"

	"github.com/tana-cmdb/tana/collectors/vsphere"
	"github.com/tana-cmdb/tana/demo"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/reconcile"
	"github.com/tana-cmdb/tana/schema"
)

// TestWatchReachesTheStore follows a simulated vCenter's change feed: a VM
// renamed, resized, created or destroyed in vCenter reaches the store
// within 2 s, without a full re-collection; a destroyed VM turns stale,
// never deleted by the feed alone.
func TestWatchReachesTheStore(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	vc, err := demo.StartVCenter(ctx, 1, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer vc.Close()
	col, err := vsphere.New(vsphere.Config{Name: "vc1", URL: vc.URL, Username: vc.User, Password: vc.Pass, CAFile: vc.CAFile, Timeout: 10 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := inventorytest.Open(t, "sqlite")
	e := reconcile.New(s, reconcile.Options{})
	fulls := make(chan struct{}, 10)
	errc := make(chan error, 1)
	go func() {
		errc <- e.Watch(ctx, "vc1", col, func(sum reconcile.RunSummary) {
			if sum.Complete {
				fulls <- struct{}{}
			}
		})
	}()
	select {
	case <-fulls:
	case err := <-errc:
		t.Fatalf("watch ended: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("no full snapshot")
	}
	vms, err := vc.VMs(ctx)
	if err != nil || len(vms) < 2 {
		t.Fatalf("vms: %v", err)
	}
	first, second := vms[0], vms[1]
	firstName, secondName := first.Name(), second.Name()
	before, err := s.GetByName(ctx, "vm", firstName)
	if err != nil {
		t.Fatal(err)
	}

	within := func(what string, ok func() bool) {
		t.Helper()
		start := time.Now()
		for time.Since(start) < 2*time.Second {
			if ok() {
				t.Logf("%s reached the store in %v", what, time.Since(start).Round(time.Millisecond))
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		select {
		case err := <-errc:
			t.Fatalf("%s did not reach the store within 2 s: the watch ended: %v", what, err)
		default:
		}
		t.Fatalf("%s did not reach the store within 2 s", what)
	}
	if err := vc.Rename(ctx, first, "watched-rename"); err != nil {
		t.Fatal(err)
	}
	within("rename", func() bool {
		en, err := s.GetByName(ctx, "vm", "watched-rename")
		return err == nil && en.ID == before.ID
	})
	if err := vc.Resize(ctx, first, 6, 2048); err != nil {
		t.Fatal(err)
	}
	within("resize", func() bool {
		en, err := s.GetByName(ctx, "vm", "watched-rename")
		return err == nil && en.Attrs["cpus"] == int64(6)
	})
	task, err := second.PowerOff(ctx)
	if err == nil {
		err = task.Wait(ctx)
	}
	if err == nil {
		task, err = second.Destroy(ctx)
	}
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	within("destroy", func() bool {
		en, err := s.GetByName(ctx, "vm", secondName)
		return err == nil && en.Status == inventory.StatusStale
	})
	if _, err := s.GetByName(ctx, "vm", secondName); schema.ErrorCode(err) == schema.ENOTFOUND {
		t.Fatal("the change feed alone deleted an entry")
	}
	// Created last: in vcsim, updates after a CreateVM were seen to stop
	// arriving now and then (2 runs in ~45), which the collector's own
	// watch test also avoids by destroying before it creates.
	if _, err := vc.CreateVM(ctx, "watched-new", "192.0.2.77", "watched-new.example.com"); err != nil {
		t.Fatal(err)
	}
	within("create", func() bool {
		_, err := s.GetByName(ctx, "vm", "watched-new")
		return err == nil
	})
}
