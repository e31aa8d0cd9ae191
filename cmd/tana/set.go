package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

func newSetCmd(c *cli) *cobra.Command {
	var reason string
	var version int64
	cmd := &cobra.Command{
		Use:   "set TYPE NAME ATTR=VALUE…",
		Short: "Set (or with ATTR= remove) attributes of one entry",
		Long: `Set attributes of one entry, as one new version. A value is read as a YAML scalar or
flow list (cpus=4, tags=[web, prod], dns_name=web41.example.com.); ATTR= removes it.
This is how a person settles what tana cannot decide alone — two VMs claiming one DNS
name: declare it on the owner with tana set vm web41 dns_name=web41.example.com.`,
		Args: cobra.MinimumNArgs(3),
		RunE: c.withStore(func(cmd *cobra.Command, s *inventory.Store, args []string) error {
			attrs, err := parseAssignments(args[2:])
			if err != nil {
				return err
			}
			e, err := lookup(cmd, s, args[0], args[1], false)
			if err != nil {
				return err
			}
			meta := inventory.Meta{Actor: c.actor(), Source: "cli", Reason: reason}
			got, err := s.Update(cmd.Context(), meta, e.ID, inventory.Patch{Version: version, Attrs: attrs})
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "%s %s: version %d\n", got.Type, got.Name, got.Version)
			return nil
		}),
	}
	cmd.Flags().StringVar(&reason, "reason", "", "reason recorded in history")
	cmd.Flags().Int64Var(&version, "version", 0, "fail unless the entry is still at this version")
	return cmd
}

// parseAssignments reads ATTR=VALUE arguments; an empty value is nil (the
// attribute is removed).
func parseAssignments(args []string) (map[string]any, error) {
	out := make(map[string]any, len(args))
	for i, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return nil, schema.FieldErrorf(schema.EINVALID, fmt.Sprintf("args[%d]", i+2), "%q is not ATTR=VALUE", a)
		}
		if v == "" {
			out[k] = nil
			continue
		}
		var x any
		if err := yaml.Unmarshal([]byte(v), &x); err != nil {
			return nil, schema.FieldErrorf(schema.EINVALID, k, "cannot read %q: %v", v, err)
		}
		if _, isMap := x.(map[string]any); isMap {
			return nil, schema.FieldErrorf(schema.EINVALID, k, "%q is a mapping; give a scalar or a list", v)
		}
		out[k] = x
	}
	return out, nil
}
