package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/reconcile"
)

func newPlansCmd(c *cli) *cobra.Command {
	var limit int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "plans",
		Short: "List stored plans, newest first, with their status",
		Long: `List stored plans, newest first: proposed, applying, applied, partial (some fixes
failed), failed, or interrupted (the run applying it died or was stopped; it may be applied
again, its pins guarding what it fixes). RUN is the run that applied it (tana runs).`,
		Args: cobra.NoArgs,
		RunE: c.withEngine(func(cmd *cobra.Command, e *reconcile.Engine) error {
			plans, err := e.Plans(cmd.Context(), limit)
			if err != nil {
				return err
			}
			if asJSON {
				if plans == nil {
					plans = []inventory.PlanRecord{}
				}
				return writeJSON(c.stdout, plans)
			}
			w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "CREATED\tID\tSTATUS\tFIXES\tRUN\tERROR")
			for _, p := range plans {
				fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%s\n", p.CreatedAt.Format("2006-01-02 15:04:05Z"), p.ID, p.Status, p.Fixes, p.RunID, p.Error)
			}
			return w.Flush()
		}),
	}
	cmd.Flags().IntVar(&limit, "limit", 20, "at most this many plans")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
