package inventory_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/schema"
)

// handles opens n stores on one fresh database of the dialect, as n
// processes would.
func handles(t *testing.T, dialect string, n int) []*inventory.Store {
	t.Helper()
	reg, err := schema.NewRegistry(schema.Builtin()...)
	if err != nil {
		t.Fatal(err)
	}
	dsn := inventorytest.DSN(t, dialect)
	out := make([]*inventory.Store, n)
	for i := range out {
		out[i] = inventorytest.OpenWith(t, dsn, reg)
	}
	return out
}

// importAttr imports one attribute of every VM of vms: what `tana import`
// of a file of that one column does.
func importAttr(s *inventory.Store, vms []string, attr string, value any) error {
	items := make([]inventory.Item, len(vms))
	for i, name := range vms {
		items[i] = inventory.Item{Type: "vm", Name: name, Attrs: map[string]any{attr: value}}
	}
	_, err := s.Upsert(ctx, inventorytest.Meta(attr), items, inventory.UpsertOptions{})
	return err
}

// editor is a person editing through GraphQL: read an entry, update it
// with the version read. It records the value of each update that
// succeeded, and fails the test on a conflict that was no race (the
// version read is still the stored one).
type editor struct {
	s    *inventory.Store
	t    *testing.T
	mu   sync.Mutex
	won  map[int64]int64 // entry → last memory_mb written
	lost int
}

func (ed *editor) edit(id, value int64) {
	e, err := ed.s.Get(ctx, id)
	if err != nil {
		ed.t.Errorf("read %d: %v", id, err)
		return
	}
	_, err = ed.s.Update(ctx, inventorytest.Meta("editor"), id, inventory.Patch{Version: e.Version, Attrs: map[string]any{"memory_mb": value}})
	ed.mu.Lock()
	defer ed.mu.Unlock()
	switch schema.ErrorCode(err) {
	case "":
		ed.won[id] = value
	case schema.ECONFLICT:
		ed.lost++
		if now, _ := ed.s.Get(ctx, id); now != nil && now.Version == e.Version {
			ed.t.Errorf("update of %s at version %d: conflict though nobody changed it: %v", e, e.Version, err)
		}
	default:
		ed.t.Errorf("update of %s: %v", e, err)
	}
}

// TestConcurrentImportsMerge runs two imports of disjoint attributes of the
// same 500 VMs at once, on separate store handles, beside a person making
// versioned edits on a third: no import may fail (they carry no version,
// so they merge), and no write may be lost.
func TestConcurrentImportsMerge(t *testing.T) {
	const n, rounds = 500, 4
	for _, d := range inventorytest.Dialects {
		t.Run(d, func(t *testing.T) {
			ss := handles(t, d, 3)
			seed(t, ss[0], n)
			vms := make([]string, n)
			for i := range vms {
				vms[i] = fmt.Sprintf("vm%03d", i)
			}
			ids := make([]int64, n)
			for i, name := range vms {
				e, err := ss[0].GetByName(ctx, "vm", name)
				if err != nil {
					t.Fatal(err)
				}
				ids[i] = e.ID
			}
			ed := &editor{s: ss[2], t: t, won: map[int64]int64{}}
			for r := range rounds {
				var wg sync.WaitGroup
				var errOwner, errNote error
				wg.Go(func() { errOwner = importAttr(ss[0], vms, "owner", fmt.Sprint("team", r)) })
				wg.Go(func() { errNote = importAttr(ss[1], vms, "annotation", fmt.Sprint("round ", r)) })
				wg.Go(func() {
					for i := 0; i < n; i += 10 {
						ed.edit(ids[i], int64(1000*r+i))
					}
				})
				wg.Wait()
				if errOwner != nil || errNote != nil {
					t.Fatalf("round %d: imports failed: owner: %v; annotation: %v", r, errOwner, errNote)
				}
			}
			for i, id := range ids {
				e, err := ss[2].Get(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				want := map[string]any{"owner": fmt.Sprint("team", rounds-1), "annotation": fmt.Sprint("round ", rounds-1)}
				if v, ok := ed.won[id]; ok {
					want["memory_mb"] = v
				}
				for k, v := range want {
					if e.Attrs[k] != v {
						t.Errorf("%s: %s = %v, want %v", vms[i], k, e.Attrs[k], v)
					}
				}
			}
			// Every write that succeeded is a version: seed, two imports a
			// round, and the edits that won.
			edits := 0
			for i := 0; i < n; i += 10 {
				h, err := ss[2].History(ctx, ids[i])
				if err != nil {
					t.Fatal(err)
				}
				for _, v := range h {
					if v.Op == inventory.OpUpdate && v.Actor == "editor" {
						edits++
					}
				}
			}
			if want := rounds*n/10 - ed.lost; edits != want {
				t.Errorf("%d edits in history, want %d (%d lost to races)", edits, want, ed.lost)
			}
			t.Logf("%d of %d versioned edits lost a race", ed.lost, rounds*n/10)
		})
	}
}

// TestConcurrentImportsCreateMerge runs two imports that create the same
// new VMs, with disjoint attributes, at once: the one that loses the race
// to insert them merges into the winner's entries instead of failing.
func TestConcurrentImportsCreateMerge(t *testing.T) {
	const n, rounds = 200, 4
	for _, d := range inventorytest.Dialects {
		t.Run(d, func(t *testing.T) {
			ss := handles(t, d, 2)
			for r := range rounds {
				vms := make([]string, n)
				for i := range vms {
					vms[i] = fmt.Sprintf("new%d-%03d", r, i)
				}
				var wg sync.WaitGroup
				var errOwner, errRole error
				wg.Go(func() { errOwner = importAttr(ss[0], vms, "owner", "ops") })
				wg.Go(func() { errRole = importAttr(ss[1], vms, "role", "web") })
				wg.Wait()
				if errOwner != nil || errRole != nil {
					t.Fatalf("round %d: imports failed: owner: %v; role: %v", r, errOwner, errRole)
				}
				for _, name := range vms {
					e, err := ss[0].GetByName(ctx, "vm", name)
					if err != nil {
						t.Fatal(err)
					}
					if e.Attrs["owner"] != "ops" || e.Attrs["role"] != "web" {
						t.Fatalf("%s: attrs %v, want owner and role", name, e.Attrs)
					}
				}
			}
		})
	}
}

// TestSQLiteWritersWaitTheirTurn holds SQLite's write lock on one handle
// with a large import whose transaction lasts longer than the old busy
// timeout (10 s), while many small writes run on another handle, as `tana
// import` beside `tana serve`: every small write waits its turn, none
// fails with "database is locked".
func TestSQLiteWritersWaitTheirTurn(t *testing.T) {
	const hold = 11 * time.Second
	ss := handles(t, "sqlite", 2)
	seed(t, ss[1], 20)
	started := make(chan struct{})
	importErr := make(chan error, 1)
	go func() {
		importErr <- ss[0].InTx(ctx, func(tx *inventory.Tx) error {
			if _, err := tx.Upsert(ctx, inventorytest.Meta("import"), inventorytest.Estate(2000)); err != nil {
				return err
			}
			close(started)
			time.Sleep(hold) // a slower disk, a bigger batch
			return nil
		})
	}()
	<-started
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for g := range 16 {
		wg.Go(func() {
			var err error
			if g%2 == 0 {
				_, err = ss[1].Create(ctx, inventorytest.Meta("writer"), "datacenter", fmt.Sprint("dc-new-", g), nil)
			} else {
				var e *inventory.Entry
				if e, err = ss[1].GetByName(ctx, "vm", fmt.Sprintf("vm%03d", g)); err == nil {
					_, err = ss[1].Update(ctx, inventorytest.Meta("writer"), e.ID, inventory.Patch{Version: e.Version, Attrs: map[string]any{"owner": "ops"}})
				}
			}
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := <-importErr; err != nil {
		t.Fatalf("import: %v", err)
	}
	if len(errs) > 0 {
		t.Fatalf("%d of 16 small writes failed during the import, e.g. %v", len(errs), errs[0])
	}
}

// TestSQLiteBusyIsRetryable: a write whose turn does not come before its
// deadline fails then, with EBUSY, and changes nothing.
func TestSQLiteBusyIsRetryable(t *testing.T) {
	ss := handles(t, "sqlite", 1)
	seed(t, ss[0], 1)
	held, done := make(chan struct{}), make(chan struct{})
	holder := make(chan error, 1)
	go func() {
		holder <- ss[0].InTx(ctx, func(*inventory.Tx) error {
			close(held)
			<-done
			return nil
		})
	}()
	<-held
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := ss[0].Create(short, inventorytest.Meta("writer"), "datacenter", "dc9", nil)
	waited := time.Since(start)
	close(done)
	if err := <-holder; err != nil {
		t.Errorf("the transaction holding the database: %v", err)
	}
	if waited > 2*time.Second {
		t.Errorf("the write waited %v, past its deadline of 200ms", waited)
	}
	if schema.ErrorCode(err) != schema.EBUSY {
		t.Fatalf("got %v (code %q), want %s", err, schema.ErrorCode(err), schema.EBUSY)
	}
	if _, err := ss[0].GetByName(ctx, "datacenter", "dc9"); schema.ErrorCode(err) != schema.ENOTFOUND {
		t.Fatalf("the failed write left dc9: %v", err)
	}
}

// TestOpenSizesPool: Options.MaxConns sizes the pool, which keeps every
// connection it may open idle; a pool too small to work is refused,
// naming the setting.
func TestOpenSizesPool(t *testing.T) {
	reg, err := schema.NewRegistry(schema.Builtin()...)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range inventorytest.Dialects {
		t.Run(d, func(t *testing.T) {
			dsn := inventorytest.DSN(t, d)
			s, err := inventory.Open(ctx, dsn, reg, inventory.Options{MaxConns: 40})
			if err != nil {
				t.Fatal(err)
			}
			defer inventorytest.MustClose(t, s)
			if got := s.DB().Stats().MaxOpenConnections; got != 40 {
				t.Errorf("max open %d, want 40", got)
			}
			_, err = inventory.Open(ctx, dsn, reg, inventory.Options{MaxConns: 2})
			if schema.ErrorCode(err) != schema.EINVALID || schema.ErrorField(err) != "db.max_conns" {
				t.Errorf("a pool of 2: %v, want invalid db.max_conns", err)
			}
		})
	}
}
