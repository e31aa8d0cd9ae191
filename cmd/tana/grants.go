package main

import (
	"fmt"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/tana-cmdb/tana/access"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

func newGrantCmd(c *cli) *cobra.Command {
	var g access.Grant
	var where []string
	cmd := &cobra.Command{
		Use:   "grant LEVEL SUBJECT",
		Short: "Grant a level (none, read, write, admin) to a user, a team, a role or anyone",
		Long: `Grant LEVEL (none < read < write < admin) to SUBJECT — user:NAME, team:NAME,
role:reader|writer|admin or anyone — on the entries of --type (every type without it), only
on its attribute --attr when given, and only on the entries matching --where attr=value
(repeatable, all must hold; the value $team stands for the team the grant is for, $user
for the user). The most specific grant decides: a grant on an attribute of matching
entries over one on an attribute, over one on matching entries, over one on the type, over
one on every type (where the built-in roles of tokens sit); among grants equally specific,
the highest level. Secret attributes are read at admin only.

  tana grant read anyone --type vm                        # everyone sees the VMs
  tana grant write team:web --type vm --where owner=$team # a team edits the VMs it owns
  tana grant read anyone --type vm --attr owner           # … but only reads who owns them`,
		Args: cobra.ExactArgs(2),
		RunE: c.withStore(func(cmd *cobra.Command, s *inventory.Store, args []string) error {
			l, err := access.ParseLevel(args[0])
			if err != nil {
				return schema.FieldErrorf(schema.EINVALID, "level", "%v", err)
			}
			g.Level, g.Subject = l, args[1]
			if g.Where, err = access.ParseWhere(where); err != nil {
				return err
			}
			added, err := access.AddGrant(cmd.Context(), s, c.by(), g)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(c.stdout, "grant %d: %s\n", added.ID, added)
			return err
		}),
	}
	cmd.Flags().StringVar(&g.Type, "type", "", "the entity type (default: every type)")
	cmd.Flags().StringVar(&g.Attr, "attr", "", "one attribute of the type")
	cmd.Flags().StringArrayVar(&where, "where", nil, "only entries with attr=value ($team, $user)")
	return cmd
}

func newRevokeCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke GRANT_ID",
		Short: "Remove a grant (tana grants lists them)",
		Args:  cobra.ExactArgs(1),
		RunE: c.withStore(func(cmd *cobra.Command, s *inventory.Store, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return schema.FieldErrorf(schema.EINVALID, "id", "%q is not a grant id", args[0])
			}
			g, err := access.RevokeGrant(cmd.Context(), s, c.by(), id)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(c.stdout, "revoked grant %d: %s\n", g.ID, g)
			return err
		}),
	}
}

func newGrantsCmd(c *cli) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "grants",
		Short: "List the grants",
		Args:  cobra.NoArgs,
		RunE: c.withStore(func(cmd *cobra.Command, s *inventory.Store, _ []string) error {
			p, err := access.LoadPolicy(cmd.Context(), s)
			if err != nil {
				return err
			}
			gs := p.Grants()
			if asJSON {
				if gs == nil {
					gs = []access.Grant{}
				}
				return writeJSON(c.stdout, gs)
			}
			w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tGRANT")
			for _, g := range gs {
				fmt.Fprintf(w, "%d\t%s\n", g.ID, g)
			}
			return w.Flush()
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
