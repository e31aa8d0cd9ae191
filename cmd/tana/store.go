package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/itemfile"
	"github.com/tana-cmdb/tana/schema"
)

func newMigrateCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending database migrations (also done at start-up)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, cfg, err := c.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer c.closeStore(s)
			fmt.Fprintf(c.stdout, "store %s is up to date (%s)\n", inventory.RedactDSN(cfg.DB.URL), s.Dialect())
			return nil
		},
	}
}

func newTypesCmd(c *cli) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "types [TYPE…]",
		Short: "List entity types and their attributes",
		RunE: func(cmd *cobra.Command, args []string) error {
			_, reg, err := c.load()
			if err != nil {
				return err
			}
			types := reg.Types()
			if len(args) > 0 {
				types = nil
				for _, n := range args {
					t, err := reg.Type(n)
					if err != nil {
						return err
					}
					types = append(types, t)
				}
			}
			if asJSON {
				return writeJSON(c.stdout, types)
			}
			return printTypes(c.stdout, types)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func printTypes(w io.Writer, types []*schema.EntityType) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	for i, t := range types {
		if i > 0 {
			fmt.Fprintln(tw)
		}
		origin := "user"
		if t.Builtin {
			origin = "built-in"
		}
		fmt.Fprintf(tw, "%s (%s)\t%s\n", t.Name, origin, t.Description)
		for _, a := range t.Attributes {
			var flags []string
			for _, f := range []struct {
				on   bool
				name string
			}{{a.Required, "required"}, {a.Unique, "unique"}, {a.Secret, "secret"}} {
				if f.on {
					flags = append(flags, f.name)
				}
			}
			if a.Default != nil {
				flags = append(flags, fmt.Sprintf("default=%v", a.Default))
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", a.Name, a.Type, a.Authority, strings.Join(flags, ","))
		}
		var ids []string
		for _, k := range t.Identity {
			s := strings.Join(k.Attrs, "+")
			if k.Source != "" {
				s = k.Source + ":" + s
			}
			ids = append(ids, s)
		}
		if len(ids) > 0 {
			fmt.Fprintf(tw, "  identity\t%s\n", strings.Join(ids, ", "))
		}
	}
	return tw.Flush()
}

func newImportCmd(c *cli) *cobra.Command {
	var dryRun bool
	var reason string
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Create or update entries from a YAML or JSON list of {type, name, attrs} (all or nothing)",
		Long: `Import reads a YAML or JSON list of items ("-" reads standard input):

  - type: vm
    name: web01
    attrs: {owner: team-web, cpus: 2}

Items are matched to existing entries by type and name; their attributes are merged
(null removes one). The whole file is one transaction: any error (it names the item
index and the field) writes nothing. --dry-run prints what would be created, changed
and left alone, attribute by attribute, and writes nothing.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// A big file takes seconds to parse (YAML at ~9 MB/s here), and
			// the store logs its steps from there on: say what is going on.
			if fi, err := os.Stat(args[0]); err == nil && fi.Size() >= 10<<20 {
				c.logger().Info("import: reading", "file", args[0], "bytes", fi.Size())
			}
			items, err := readItems(args[0])
			if err != nil {
				return err
			}
			if len(items) >= 1000 {
				c.logger().Info("import: items read", "file", args[0], "items", len(items))
			}
			s, _, err := c.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer c.closeStore(s)
			meta := inventory.Meta{Actor: c.actor(), Source: "import", Reason: reason}
			if meta.Reason == "" {
				meta.Reason = "import " + args[0]
			}
			rs, err := s.Upsert(cmd.Context(), meta, items, inventory.UpsertOptions{DryRun: dryRun})
			if err != nil {
				return fmt.Errorf("import %s: %w (nothing was written)", args[0], err)
			}
			return printResults(c.stdout, s.Registry(), rs, dryRun)
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "show what would change and write nothing")
	cmd.Flags().StringVar(&reason, "reason", "", "reason recorded in history")
	return cmd
}

// readItems reads an import file ("-": standard input).
func readItems(path string) ([]inventory.Item, error) {
	if path == "-" {
		return itemfile.Read(os.Stdin, "stdin")
	}
	return itemfile.ReadFile(path)
}

// printResults lists what an import did, attribute by attribute; secret
// values are masked (the old one came from the store). Its error is the
// first failed write: bufio keeps it for Flush.
func printResults(w io.Writer, reg *schema.Registry, rs []inventory.Result, dryRun bool) error {
	counts := map[inventory.Op]int{}
	bw := bufio.NewWriter(w)
	for _, r := range rs {
		counts[r.Op]++
		mark := map[inventory.Op]string{inventory.OpCreate: "+", inventory.OpUpdate: "~", inventory.OpUnchanged: "="}[r.Op]
		fmt.Fprintf(bw, "%s %s %s (%s)\n", mark, r.Type, r.Name, r.Op)
		if r.Op == inventory.OpUnchanged {
			continue
		}
		changes := r.Changes()
		if t, err := reg.Type(r.Type); err == nil {
			changes = inventory.RedactChanges(t, changes, schema.Mask)
		}
		keys := make([]string, 0, len(changes))
		for k := range changes {
			if !(k == "name" && r.Op == inventory.OpCreate) {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			ch := changes[k]
			if r.Op == inventory.OpCreate {
				fmt.Fprintf(bw, "    %s: %s\n", k, show(ch.New))
			} else {
				fmt.Fprintf(bw, "    %s: %s → %s\n", k, show(ch.Old), show(ch.New))
			}
		}
	}
	verb := "Imported"
	if dryRun {
		verb = "Dry run, nothing written: would have"
	}
	fmt.Fprintf(bw, "%s %d created, %d changed, %d unchanged.\n", verb,
		counts[inventory.OpCreate], counts[inventory.OpUpdate], counts[inventory.OpUnchanged])
	return bw.Flush()
}

func show(v any) string {
	if v == nil {
		return "(none)"
	}
	b, err := schema.AppendJSON(nil, v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func newExportCmd(c *cli) *cobra.Command {
	var typ, format string
	var secrets bool
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write entries as a YAML or JSON list that `tana import` reads back",
		Long: `export writes entries as a YAML or JSON list that tana import reads back. It reads
the store (--db, TANA_DB, tana.yaml) or, when TANA_URL is set, a running tana
server's /export with TANA_TOKEN as a bearer token: then only the entries and
attributes that token may read.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if u := c.getenv("TANA_URL"); u != "" {
				q := url.Values{"format": {format}}
				if typ != "" {
					q.Set("type", typ)
				}
				if secrets {
					q.Set("secrets", "true")
				}
				return c.fromServer(cmd.Context(), "export", u, "/export?"+q.Encode())
			}
			w, err := itemfile.NewWriter(c.stdout, format)
			if err != nil {
				return err
			}
			s, _, err := c.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer c.closeStore(s)
			types := s.Registry().Types()
			if typ != "" {
				t, err := s.Registry().Type(typ)
				if err != nil {
					return err
				}
				types = []*schema.EntityType{t}
			}
			hidden := 0
			for _, t := range types {
				err := s.Each(cmd.Context(), t.Name, func(e *inventory.Entry) error {
					attrs, n := t.Redact(e.Attrs, schema.RevealIf(secrets, schema.Drop))
					hidden += n
					return w.Write(inventory.Item{Type: e.Type, Name: e.Name, Attrs: attrs})
				})
				if err != nil {
					return err
				}
			}
			if hidden > 0 {
				fmt.Fprintf(c.stderr, "tana: %d secret values left out (use --include-secrets to export them)\n", hidden)
			}
			return w.Close()
		},
	}
	cmd.Flags().StringVar(&typ, "type", "", "export only this entity type")
	cmd.Flags().StringVar(&format, "format", "yaml", "output format: yaml or json")
	cmd.Flags().BoolVar(&secrets, "include-secrets", false, "include attributes marked secret")
	return cmd
}

// lookup finds a live entry by type and name, or, with deleted, the most
// recently deleted one.
func lookup(cmd *cobra.Command, s *inventory.Store, typ, name string, deleted bool) (*inventory.Entry, error) {
	if deleted {
		return s.GetDeleted(cmd.Context(), typ, name)
	}
	e, err := s.GetByName(cmd.Context(), typ, name)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", typ, name, err)
	}
	return e, nil
}

func newGetCmd(c *cli) *cobra.Command {
	var asJSON, secrets bool
	cmd := &cobra.Command{
		Use:   "get TYPE NAME",
		Short: "Show one entry",
		Args:  cobra.ExactArgs(2),
		RunE: c.withStore(func(cmd *cobra.Command, s *inventory.Store, args []string) error {
			e, err := lookup(cmd, s, args[0], args[1], false)
			if err != nil {
				return err
			}
			t, err := s.Registry().Type(e.Type)
			if err != nil {
				return err
			}
			e.Attrs, _ = t.Redact(e.Attrs, schema.RevealIf(secrets, schema.Mask))
			if asJSON {
				return writeJSON(c.stdout, e)
			}
			tw := tabwriter.NewWriter(c.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "%s %s\tid %d, version %d, %s, updated %s\n", e.Type, e.Name, e.ID, e.Version, e.Status, e.UpdatedAt.Format("2006-01-02 15:04:05Z"))
			for _, a := range t.Attributes {
				if v, ok := e.Attrs[a.Name]; ok {
					fmt.Fprintf(tw, "  %s\t%s\t(%s)\n", a.Name, show(v), a.Authority)
				}
			}
			return tw.Flush()
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&secrets, "show-secrets", false, "show attributes marked secret")
	return cmd
}

func newHistoryCmd(c *cli) *cobra.Command {
	var asJSON, secrets bool
	cmd := &cobra.Command{
		Use:   "history TYPE NAME",
		Short: "Show every version of an entry: who changed what, when, from which source",
		Args:  cobra.ExactArgs(2),
		RunE: c.withStore(func(cmd *cobra.Command, s *inventory.Store, args []string) error {
			e, err := lookup(cmd, s, args[0], args[1], false)
			if schema.ErrorCode(err) == schema.ENOTFOUND {
				e, err = lookup(cmd, s, args[0], args[1], true)
			}
			if err != nil {
				return fmt.Errorf("%s %q: %w", args[0], args[1], err)
			}
			vs, err := s.History(cmd.Context(), e.ID)
			if err != nil {
				return err
			}
			t, err := s.Registry().Type(e.Type)
			if err != nil {
				return err
			}
			for i := range vs {
				vs[i].Changes = inventory.RedactChanges(t, vs[i].Changes, schema.RevealIf(secrets, schema.Mask))
			}
			if asJSON {
				return writeJSON(c.stdout, vs)
			}
			bw := bufio.NewWriter(c.stdout) // keeps the first failed write for Flush
			for _, v := range vs {
				fmt.Fprintf(bw, "v%d  %s  %s  by %s via %s", v.Version, v.At.Format("2006-01-02 15:04:05Z"), v.Op, v.Actor, v.Source)
				if v.Reason != "" {
					fmt.Fprintf(bw, "  (%s)", v.Reason)
				}
				fmt.Fprintf(bw, "  change set %s\n", v.ChangeSet)
				keys := make([]string, 0, len(v.Changes))
				for k := range v.Changes {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				for _, k := range keys {
					fmt.Fprintf(bw, "    %s: %s → %s\n", k, show(v.Changes[k].Old), show(v.Changes[k].New))
				}
			}
			return bw.Flush()
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&secrets, "show-secrets", false, "show the values of attributes marked secret")
	return cmd
}

func newDeleteCmd(c *cli) *cobra.Command {
	var reason string
	var version int64
	cmd := &cobra.Command{
		Use:   "delete TYPE NAME",
		Short: "Soft-delete an entry (tana restore brings it back)",
		Args:  cobra.ExactArgs(2),
		RunE: c.withStore(func(cmd *cobra.Command, s *inventory.Store, args []string) error {
			e, err := lookup(cmd, s, args[0], args[1], false)
			if err != nil {
				return err
			}
			if _, err := s.Delete(cmd.Context(), inventory.Meta{Actor: c.actor(), Source: "cli", Reason: reason}, e.ID, version); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "deleted %s %s (restore with: tana restore %s %s)\n", e.Type, e.Name, e.Type, e.Name)
			return nil
		}),
	}
	cmd.Flags().StringVar(&reason, "reason", "", "reason recorded in history")
	cmd.Flags().Int64Var(&version, "version", 0, "fail unless the entry is still at this version")
	return cmd
}

func newRestoreCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "restore TYPE NAME",
		Short: "Restore a soft-deleted entry with its attributes and references",
		Args:  cobra.ExactArgs(2),
		RunE: c.withStore(func(cmd *cobra.Command, s *inventory.Store, args []string) error {
			e, err := lookup(cmd, s, args[0], args[1], true)
			if err != nil {
				return fmt.Errorf("no deleted %s %q: %w", args[0], args[1], err)
			}
			if _, err := s.Restore(cmd.Context(), inventory.Meta{Actor: c.actor(), Source: "cli"}, e.ID); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "restored %s %s\n", e.Type, e.Name)
			return nil
		}),
	}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
