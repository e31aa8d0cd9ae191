package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/tana-cmdb/tana/inventory"
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
			defer s.Close()
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
			cfg, err := c.config()
			if err != nil {
				return err
			}
			reg, err := c.registry(cfg)
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
			defer s.Close()
			meta := inventory.Meta{Actor: c.actor(), Source: "import", Reason: reason}
			if meta.Reason == "" {
				meta.Reason = "import " + args[0]
			}
			rs, err := s.Upsert(cmd.Context(), meta, items, inventory.UpsertOptions{DryRun: dryRun})
			if err != nil {
				return fmt.Errorf("import %s: %w (nothing was written)", args[0], err)
			}
			printResults(c.stdout, rs, dryRun)
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "show what would change and write nothing")
	cmd.Flags().StringVar(&reason, "reason", "", "reason recorded in history")
	return cmd
}

// readItems decodes a YAML or JSON list of items strictly.
func readItems(path string) ([]inventory.Item, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var items []inventory.Item
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		dec.UseNumber()
		if err := dec.Decode(&items); err != nil {
			return nil, schema.FieldErrorf(schema.EINVALID, path, "bad JSON: %v", err)
		}
		return items, nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&items); err != nil && !errors.Is(err, io.EOF) {
		return nil, schema.FieldErrorf(schema.EINVALID, path, "bad YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	return items, nil
}

func printResults(w io.Writer, rs []inventory.Result, dryRun bool) {
	counts := map[inventory.Op]int{}
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	for _, r := range rs {
		counts[r.Op]++
		mark := map[inventory.Op]string{inventory.OpCreate: "+", inventory.OpUpdate: "~", inventory.OpUnchanged: "="}[r.Op]
		fmt.Fprintf(bw, "%s %s %s (%s)\n", mark, r.Type, r.Name, r.Op)
		if r.Op == inventory.OpUnchanged {
			continue
		}
		changes := r.Changes()
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
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "yaml" && format != "json" {
				return schema.FieldErrorf(schema.EINVALID, "format", "want yaml or json, got %q", format)
			}
			s, _, err := c.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			types := s.Registry().Types()
			if typ != "" {
				t, err := s.Registry().Type(typ)
				if err != nil {
					return err
				}
				types = []*schema.EntityType{t}
			}
			w := newItemWriter(c.stdout, format)
			hidden := 0
			for _, t := range types {
				err := s.Each(cmd.Context(), t.Name, func(e *inventory.Entry) error {
					if !secrets {
						hidden += dropSecrets(t, e.Attrs)
					}
					return w.write(inventory.Item{Type: e.Type, Name: e.Name, Attrs: e.Attrs})
				})
				if err != nil {
					return err
				}
			}
			if hidden > 0 {
				fmt.Fprintf(c.stderr, "tana: %d secret values left out (use --include-secrets to export them)\n", hidden)
			}
			return w.close()
		},
	}
	cmd.Flags().StringVar(&typ, "type", "", "export only this entity type")
	cmd.Flags().StringVar(&format, "format", "yaml", "output format: yaml or json")
	cmd.Flags().BoolVar(&secrets, "include-secrets", false, "include attributes marked secret")
	return cmd
}

func dropSecrets(t *schema.EntityType, attrs map[string]any) int {
	n := 0
	for _, a := range t.Attributes {
		if _, ok := attrs[a.Name]; ok && a.Secret {
			delete(attrs, a.Name)
			n++
		}
	}
	return n
}

// itemWriter streams items as one YAML or JSON list.
type itemWriter struct {
	w      *bufio.Writer
	buf    bytes.Buffer // one JSON item
	format string
	n      int
}

func newItemWriter(w io.Writer, format string) *itemWriter {
	return &itemWriter{w: bufio.NewWriterSize(w, 64<<10), format: format}
}

func (iw *itemWriter) write(it inventory.Item) error {
	if len(it.Attrs) == 0 {
		it.Attrs = nil
	}
	if iw.format == "json" {
		sep := ",\n"
		if iw.n == 0 {
			sep = "[\n"
		}
		iw.buf.Reset()
		enc := json.NewEncoder(&iw.buf)
		enc.SetEscapeHTML(false) // a file for people and tana import, not a web page
		if err := enc.Encode(it); err != nil {
			return err
		}
		iw.w.WriteString(sep)
		iw.w.Write(bytes.TrimSuffix(iw.buf.Bytes(), []byte("\n")))
	} else {
		enc := yaml.NewEncoder(iw.w)
		enc.SetIndent(2)
		if err := enc.Encode([]inventory.Item{it}); err != nil {
			return err
		}
		if err := enc.Close(); err != nil {
			return err
		}
	}
	iw.n++
	return nil
}

func (iw *itemWriter) close() error {
	if iw.format == "json" {
		if iw.n == 0 {
			iw.w.WriteString("[")
		}
		iw.w.WriteString("\n]\n")
	} else if iw.n == 0 {
		iw.w.WriteString("[]\n")
	}
	return iw.w.Flush()
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
			t, _ := s.Registry().Type(e.Type)
			if !secrets {
				for _, a := range t.Attributes {
					if _, ok := e.Attrs[a.Name]; ok && a.Secret {
						e.Attrs[a.Name] = "(secret)"
					}
				}
			}
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
	var asJSON bool
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
			if asJSON {
				return writeJSON(c.stdout, vs)
			}
			for _, v := range vs {
				fmt.Fprintf(c.stdout, "v%d  %s  %s  by %s via %s", v.Version, v.At.Format("2006-01-02 15:04:05Z"), v.Op, v.Actor, v.Source)
				if v.Reason != "" {
					fmt.Fprintf(c.stdout, "  (%s)", v.Reason)
				}
				fmt.Fprintf(c.stdout, "  change set %s\n", v.ChangeSet)
				keys := make([]string, 0, len(v.Changes))
				for k := range v.Changes {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				for _, k := range keys {
					fmt.Fprintf(c.stdout, "    %s: %s → %s\n", k, show(v.Changes[k].Old), show(v.Changes[k].New))
				}
			}
			return nil
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
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
