package inventory

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tana-cmdb/tana/schema"
)

func gatherWrites(t *testing.T, n int) ([]*write, map[refKey]int64) {
	t.Helper()
	reg, err := schema.NewRegistry(schema.Builtin()...)
	if err != nil {
		t.Fatal(err)
	}
	vm, _ := reg.Type("vm")
	ids := map[refKey]int64{{"host", "h1"}: 1, {"host", "h2"}: 2}
	var ws []*write
	for i := range n {
		ws = append(ws, &write{t: vm, op: OpCreate, id: int64(100 + i), name: fmt.Sprintf("vm%d", i), attrs: map[string]any{
			"ip": fmt.Sprintf("10.0.0.%d", n-i), "instance_uuid": fmt.Sprintf("u%03d", i), "host": []string{"h1", "h2"}[i%2],
		}})
	}
	return ws, ids
}

// TestGatherIndexChunks checks that the index rows come in chunks of
// about the limit, each sorted by key, and all of them exactly once.
func TestGatherIndexChunks(t *testing.T) {
	ws, ids := gatherWrites(t, 50)
	stop := make(chan struct{})
	defer close(stop)
	var values, unique, refs []string
	chunks := 0
	for ir := range gatherIndex(ws, ids, 30, stop) {
		chunks++
		if n := ir.len(); n < 30 && chunks < 5 || n > 32 {
			t.Errorf("chunk %d holds %d rows, want about 30", chunks, n)
		}
		var vs []string
		for _, k := range ir.values.keys {
			for _, r := range ir.values.runs[k] {
				vs = append(vs, fmt.Sprintf("%s %s %s %d", k[0], k[1], r.value, r.id))
			}
		}
		if !slices.IsSortedFunc(ir.values.runs[[2]string{"vm", "ip"}], func(a, b valueRow) int { return strings.Compare(a.value, b.value) }) {
			t.Errorf("chunk %d: ip rows not in key order", chunks)
		}
		if !slices.IsSortedFunc(ir.refs.rows, func(a, b refRow) int { return cmp.Or(cmp.Compare(a.to, b.to), cmp.Compare(a.from, b.from)) }) {
			t.Errorf("chunk %d: refs rows not in key order", chunks)
		}
		values = append(values, vs...)
		for _, r := range ir.unique.runs[[2]string{"vm", "instance_uuid"}] {
			unique = append(unique, r.value)
		}
		for _, r := range ir.refs.rows {
			refs = append(refs, fmt.Sprintf("%d %d", r.to, r.from))
		}
	}
	// 50 writes: 50 ip rows (instance_uuid is unique and searchable: 50
	// more), 50 unique rows and 50 refs rows.
	if chunks != 7 || len(values) != 100 || len(unique) != 50 || len(refs) != 50 {
		t.Errorf("%d chunks, %d value, %d unique and %d refs rows; want 7, 100, 50, 50", chunks, len(values), len(unique), len(refs))
	}
	slices.Sort(values)
	if len(slices.Compact(values)) != len(values) {
		t.Error("a value row came twice")
	}
}

// TestGatherIndexStops checks that the gatherer gives up when the batch
// fails before taking all its rows: it hands over no more than the chunk
// it may have had ready (each hand-over after the stop is a coin toss
// between the two ready cases, so all 66 would be a 2^-65 chance).
func TestGatherIndexStops(t *testing.T) {
	ws, ids := gatherWrites(t, 200)
	stop := make(chan struct{})
	rows := gatherIndex(ws, ids, 12, stop) // 3 writes a chunk: 67 chunks
	<-rows                                 // the writer takes one chunk, then fails
	close(stop)
	after := 0
	for range rows {
		after++
	}
	if after >= 66 {
		t.Errorf("%d chunks after the stop: the gatherer went on to the end", after)
	}
}
