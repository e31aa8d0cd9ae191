package reconcile_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/tana-cmdb/tana/collectors"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/reconcile"
)

// scenario is one testdata/drift/*.yaml file: entries in the store (bound
// to the snapshot's scope when bind is set), a snapshot, and the drift
// expected from it.
type scenario struct {
	Description string       `yaml:"description"`
	Store       []storeEntry `yaml:"store"`
	Snapshot    snapYAML     `yaml:"snapshot"`
	Want        []wantItem   `yaml:"want"`
	Suspect     bool         `yaml:"suspect"`
}

type storeEntry struct {
	Type  string         `yaml:"type"`
	Name  string         `yaml:"name"`
	Attrs map[string]any `yaml:"attrs"`
	Bind  string         `yaml:"bind"`
}

type snapYAML struct {
	Scope    string       `yaml:"scope"`
	Kind     string       `yaml:"kind"`
	Complete bool         `yaml:"complete"`
	Types    []string     `yaml:"types"`
	Objects  []objectYAML `yaml:"objects"`
}

type objectYAML struct {
	Type  string         `yaml:"type"`
	ID    string         `yaml:"id"`
	Name  string         `yaml:"name"`
	Attrs map[string]any `yaml:"attrs"`
}

// wantItem is compared on the fields it sets; message is a substring.
type wantItem struct {
	Kind      string `yaml:"kind"`
	Type      string `yaml:"type"`
	Entry     string `yaml:"entry"`
	Attr      string `yaml:"attr"`
	Store     any    `yaml:"store"`
	Actual    any    `yaml:"actual"`
	Authority string `yaml:"authority"`
	Message   string `yaml:"message"`
}

// toSnapshot turns YAML objects into a snapshot; a string "ref:TYPE/ID"
// (alone or in a list) is a collectors.Ref.
func (s snapYAML) toSnapshot() *collectors.Snapshot {
	snap := &collectors.Snapshot{Source: strings.SplitN(s.Scope, ":", 2)[1], Kind: s.Kind, Scope: s.Scope, Types: s.Types, Complete: s.Complete}
	for _, o := range s.Objects {
		attrs := map[string]any{}
		for k, v := range o.Attrs {
			attrs[k] = refs(v)
		}
		snap.Objects = append(snap.Objects, collectors.Object{Type: o.Type, ID: o.ID, Name: o.Name, Attrs: attrs})
	}
	return snap
}

func refs(v any) any {
	switch x := v.(type) {
	case string:
		if t, id, ok := strings.Cut(strings.TrimPrefix(x, "ref:"), "/"); ok && strings.HasPrefix(x, "ref:") {
			return collectors.Ref{Type: t, ID: id}
		}
	case []any:
		if len(x) > 0 {
			if _, ok := refs(x[0]).(collectors.Ref); ok {
				out := make([]collectors.Ref, len(x))
				for i := range x {
					out[i] = refs(x[i]).(collectors.Ref)
				}
				return out
			}
		}
	}
	return v
}

func TestDriftScenarios(t *testing.T) {
	files, err := filepath.Glob("testdata/drift/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	var cases []scenario
	var names []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var sc scenario
		if err := yaml.Unmarshal(data, &sc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		cases = append(cases, sc)
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".yaml"))
	}
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		for i, sc := range cases {
			t.Run(names[i], func(t *testing.T) {
				runScenario(t, s, sc, fmt.Sprintf("sc%d-", i))
			})
		}
	})
}

// runScenario runs one scenario in a shared store: entry names and object
// ids get a per-scenario prefix so scenarios do not see each other.
func runScenario(t *testing.T, s *inventory.Store, sc scenario, prefix string) {
	ctx := context.Background()
	snap := sc.Snapshot.toSnapshot()
	snap.Scope += "-" + strings.TrimSuffix(prefix, "-")
	err := s.InTx(ctx, func(tx *inventory.Tx) error {
		for _, se := range sc.Store {
			en, err := tx.Create(ctx, inventorytest.Meta("test"), se.Type, se.Name, se.Attrs)
			if err != nil {
				return fmt.Errorf("create %s: %w", se.Name, err)
			}
			if se.Bind != "" {
				if err := tx.Bind(ctx, snap.Scope, map[string]int64{se.Bind: en.ID}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cleanup(t, s, sc) })
	e := reconcile.New(s, reconcile.Options{})
	res, err := e.Diff(ctx, snap)
	if err != nil {
		t.Fatalf("diff: %v", err)
	}
	if sc.Suspect != (res.Suspect != "") {
		t.Errorf("suspect = %q, want %v", res.Suspect, sc.Suspect)
	}
	got := make([]wantItem, len(res.Items))
	for i, it := range res.Items {
		got[i] = project(it, sc.Want, i)
	}
	want := sc.Want
	if want == nil {
		want = []wantItem{}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("drift (-want +got):\n%s\nitems: %v", diff, res.Items)
	}
}

// project keeps the fields of it that the i-th wanted item sets.
func project(it reconcile.Item, want []wantItem, i int) wantItem {
	name := it.EntryName
	if name == "" && it.Object != nil {
		name = it.Object.Name
	}
	g := wantItem{Kind: string(it.Kind), Type: it.Type, Entry: name, Attr: it.Attr}
	if i >= len(want) {
		g.Message = it.Message
		return g
	}
	w := want[i]
	if w.Store != nil {
		g.Store = yamlish(it.Store)
	}
	if w.Actual != nil {
		g.Actual = yamlish(it.Actual)
	}
	if w.Authority != "" {
		g.Authority = string(it.Authority)
	}
	if w.Message != "" && strings.Contains(it.Message, w.Message) {
		g.Message = w.Message
	} else if w.Message != "" {
		g.Message = it.Message
	}
	if w.Entry == "" {
		g.Entry = ""
	}
	return g
}

// yamlish maps values to what YAML decodes them to, for comparison.
func yamlish(v any) any {
	switch x := v.(type) {
	case int64:
		return int(x)
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = yamlish(x[i])
		}
		return out
	case []string:
		out := make([]any, len(x))
		for i := range x {
			out[i] = x[i]
		}
		return out
	}
	return v
}

// cleanup deletes a scenario's entries so names can repeat across scenarios.
func cleanup(t *testing.T, s *inventory.Store, sc scenario) {
	ctx := context.Background()
	for i := len(sc.Store) - 1; i >= 0; i-- {
		if en, err := s.GetByName(ctx, sc.Store[i].Type, sc.Store[i].Name); err == nil {
			if _, err := s.Delete(ctx, inventorytest.Meta("test"), en.ID, 0); err != nil {
				t.Logf("cleanup %s: %v", en, err)
			}
		}
	}
}
