package main

import (
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/tana-cmdb/tana/inventory"
)

func newUnlockCmd(c *cli) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "unlock [SCOPE]",
		Short: "List the scope locks held now, or free one whose holder is stuck",
		Long: `Without SCOPE, list the locks held now: the scope, the run holding it (kind, source,
host and pid) and since when. With SCOPE (apply:vsphere:vc1, apply:cross, schedule:nightly),
free that lock whoever holds it and mark the holding run interrupted; if that run is still
alive it stops at its next heartbeat.

A crashed run frees its locks by itself within the lease (tana.yaml lease, default 15s):
unlock is for the rest — a holder that hangs. It needs direct access to the database (an
administrator's), and asks for "yes" unless --yes.`,
		Args: cobra.MaximumNArgs(1),
		RunE: c.withStore(func(cmd *cobra.Command, s *inventory.Store, args []string) error {
			ctx := cmd.Context()
			if len(args) == 0 {
				locks, err := s.Locks(ctx)
				if err != nil {
					return err
				}
				w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "SCOPE\tRUN\tKIND\tSOURCE\tPROCESS\tSINCE\tLEASE UNTIL")
				for _, l := range locks {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", l.Scope, l.Holder, l.RunKind, l.RunSource, l.Process,
						l.AcquiredAt.Format("2006-01-02 15:04:05Z"), l.ExpiresAt.Format("15:04:05Z"))
				}
				return w.Flush()
			}
			if !yes {
				if err := confirmText(c.stdout, os.Stdin, fmt.Sprintf("Free %s and mark its run interrupted?", args[0])); err != nil {
					return err
				}
			}
			freed, err := s.Unlock(ctx, args[0], c.actor())
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "freed %s (held by run %s: %s %s, %s); the run is marked interrupted\n",
				freed.Scope, freed.Holder, freed.RunKind, freed.RunSource, freed.Process)
			return nil
		}),
	}
	cmd.Flags().BoolVar(&yes, "yes", false, "do not ask for confirmation")
	return cmd
}
