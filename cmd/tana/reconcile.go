package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tana-cmdb/tana/allocate"
	"github.com/tana-cmdb/tana/collectors"
	"github.com/tana-cmdb/tana/config"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/reconcile"
	"github.com/tana-cmdb/tana/schema"
)

// Owned by the reconcile work (issue 6).

func reconcileCommands(c *cli) []*cobra.Command {
	return []*cobra.Command{newCollectCmd(c), newPlanCmd(c), newApplyCmd(c), newDriftCmd(c), newRunsCmd(c), newReportCmd(c), newUnlockCmd(c), newPlansCmd(c)}
}

// policies maps tana.yaml's policies onto the engine's.
func policies(cfg *config.Config) map[string]reconcile.Policy {
	out := map[string]reconcile.Policy{}
	for t, p := range cfg.Policies {
		out[t] = reconcile.Policy{Observed: p.Observed, Declared: p.Declared, MaxDeletes: p.MaxDeletes,
			MaxChangePercent: p.MaxChangePercent, StaleAfter: p.StaleAfter.D(), DeleteAfter: p.DeleteAfter.D()}
	}
	return out
}

// poolUsage gives reports the allocation pools' use.
func poolUsage(a *allocate.Allocator) func(context.Context) ([]reconcile.PoolUsage, error) {
	return func(ctx context.Context) ([]reconcile.PoolUsage, error) {
		ps, err := a.Pools(ctx)
		if err != nil {
			return nil, err
		}
		out := make([]reconcile.PoolUsage, 0, len(ps))
		for _, p := range ps {
			out = append(out, reconcile.PoolUsage{Pool: p.Name, Size: p.Size, Used: p.Granted + p.Held, Free: p.Free})
		}
		return out, nil
	}
}

// engine opens the store and returns an engine over it, with fixers when
// withFixers is set and sources are configured; then the sources are
// checked before the store is opened, with any more checks. Call the
// close func.
func (c *cli) engine(ctx context.Context, withFixers bool, checks ...check) (*reconcile.Engine, *config.Config, func(), error) {
	if withFixers {
		checks = append(checks, c.checkSources)
	}
	s, cfg, err := c.openStore(ctx, checks...)
	if err != nil {
		return nil, nil, nil, err
	}
	var fixers []collectors.Fixer
	if withFixers && len(cfg.Sources) > 0 {
		_, fixers, err = c.sources(ctx, cfg, nil)
		if err != nil {
			c.closeStore(s)
			return nil, nil, nil, err
		}
	}
	e := reconcile.New(s, reconcile.Options{Logger: c.logger(), Policies: policies(cfg), Fixers: fixers, Actor: c.actor(), Lease: cfg.Lease.D(),
		Pools: poolUsage(allocate.New(s, allocate.Options{Logger: c.logger()}))})
	return e, cfg, func() { c.closeStore(s) }, nil
}

// withEngine runs fn with an engine over the opened store (no fixers: for
// commands that only read or plan) and closes the store after.
func (c *cli) withEngine(fn func(cmd *cobra.Command, e *reconcile.Engine) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		e, _, closeStore, err := c.engine(cmd.Context(), false)
		if err != nil {
			return err
		}
		defer closeStore()
		return fn(cmd, e)
	}
}

func newCollectCmd(c *cli) *cobra.Command {
	var watch bool
	cmd := &cobra.Command{
		Use:   "collect [SOURCE…]",
		Short: "Collect sources and reconcile: apply observed drift by policy, keep the rest as open drift",
		Long: `Take a snapshot of every scope of the named sources (all configured sources by
default), store it, and reconcile it: drift whose policy is apply (by default the observed
attributes) is written at once in one change set; the rest stays open for tana plan / apply.
Entries a complete snapshot no longer reports turn stale and, after delete_after, are
soft-deleted. With --watch, keep following the sources' changes until interrupted.

Exit status: 0 when every scope was collected completely; 1 on an error; 3 when any
scope came back incomplete (a vCenter that failed part-way, a zone transfer refused) or
suspect (complete, but with far fewer objects than before): its drift is added or
updated, only drift of what it saw is resolved, nothing is marked stale or deleted,
and the reason is printed under the scope.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			e, cfg, closeFn, err := c.engine(ctx, true)
			if err != nil {
				return err
			}
			defer closeFn()
			if watch {
				return c.watch(ctx, e, cfg, args)
			}
			cs, _, err := c.sources(ctx, cfg, args)
			if err != nil {
				return err
			}
			var errs []error
			var incomplete []string
			for _, col := range cs {
				sums, err := e.Collect(ctx, col)
				for _, s := range sums {
					c.printSummary(s)
					if !s.Complete || s.Suspect {
						incomplete = append(incomplete, s.Scope)
					}
				}
				if err != nil {
					errs = append(errs, err)
				}
			}
			if err := errors.Join(errs...); err != nil {
				return err
			}
			if len(incomplete) > 0 {
				fmt.Fprintf(c.stderr, "tana: incomplete or suspect: %s; only what it saw was resolved, nothing marked stale or deleted\n", strings.Join(incomplete, ", "))
				return exitError{exitIncomplete}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&watch, "watch", false, "keep collecting changes as the sources report them")
	return cmd
}

func (c *cli) printSummary(s reconcile.RunSummary) {
	complete := "complete"
	switch {
	case !s.Complete:
		complete = "incomplete"
	case s.Suspect:
		complete = "complete but suspect"
	}
	fmt.Fprintf(c.stdout, "%s: %d objects (%s), %d applied, %d stale, %d deleted, %d open\n",
		s.Scope, s.Objects, complete, s.Applied, s.Stale, s.Deleted, s.Open)
	for _, m := range s.Errors {
		fmt.Fprintf(c.stdout, "  incomplete: %s\n", m)
	}
	if s.Limited != "" {
		fmt.Fprintf(c.stdout, "  %s\n", s.Limited)
	}
}

func filterFlags(cmd *cobra.Command, f *reconcile.Filter) {
	cmd.Flags().StringVar(&f.Source, "source", "", "only this scope (vsphere:vc1, dns:example.com.), source kind (vsphere, dns, cross) or source name (vc1, dns1)")
	cmd.Flags().StringVar(&f.Type, "type", "", "only this entity type")
	cmd.Flags().StringVar(&f.Entry, "entry", "", "only this entry name")
}

func newPlanCmd(c *cli) *cobra.Command {
	var f reconcile.Filter
	var asJSON, detailed bool
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Show and store the fixes for current drift",
		Long: `Compute the fixes for the open drift (optionally scoped), store them as a plan with
an id and the entry versions they were computed against, and print them. Apply it with
tana apply PLAN_ID. With --detailed-exitcode the exit code is 0 for no drift, 2 for drift
and 1 for an error, as terraform's.`,
		Args: cobra.NoArgs,
		RunE: c.withEngine(func(cmd *cobra.Command, e *reconcile.Engine) error {
			p, err := e.MakePlan(cmd.Context(), f)
			if err != nil {
				return err
			}
			if asJSON {
				err = writeJSON(c.stdout, p)
			} else {
				err = printPlan(c.stdout, p)
			}
			if err == nil && detailed && len(p.Fixes) > 0 {
				return exitError{2}
			}
			return err
		}),
	}
	filterFlags(cmd, &f)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the plan as JSON")
	cmd.Flags().BoolVar(&detailed, "detailed-exitcode", false, "exit 2 when there is drift, 0 when there is none")
	return cmd
}

// printPlan lists a plan's fixes. Its error is the first failed write:
// bufio keeps it for Flush.
func printPlan(w io.Writer, p *reconcile.Plan) error {
	bw := bufio.NewWriter(w)
	if len(p.Fixes) == 0 {
		fmt.Fprintf(bw, "No drift. Plan %s is empty.\n", p.ID)
		return bw.Flush()
	}
	fmt.Fprintf(bw, "Plan %s: %d fixes (%d actionable)\n", p.ID, len(p.Fixes), p.Actionable())
	for i := range p.Fixes {
		f := &p.Fixes[i]
		fmt.Fprintf(bw, "  %s  [%s, %s]\n", f.String(), f.Direction, f.Policy)
	}
	fmt.Fprintf(bw, "\nApply with: tana apply %s\n", p.ID)
	return bw.Flush()
}

func newApplyCmd(c *cli) *cobra.Command {
	var f reconcile.Filter
	var auto, override bool
	cmd := &cobra.Command{
		Use:   "apply [PLAN_ID]",
		Short: "Apply a plan (a fresh one when no id is given)",
		Long: `Apply a stored plan: reality fixes through the sources' fixers (DNS updates, vSphere
attributes), then every store fix in one transaction, each a version with source plan:<id>.
Without PLAN_ID a fresh plan is computed and applied. A plan whose entries changed since it
was made is refused as stale; a scope another apply holds is refused as locked; safety
limits (max_deletes, max_change_percent) stop the apply unless --override-limits. Without
--auto-approve tana asks for "yes" on the terminal, and refuses when stdin is not one.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			e, _, closeFn, err := c.engine(ctx, true)
			if err != nil {
				return err
			}
			defer closeFn()
			var p *reconcile.Plan
			if len(args) == 1 {
				p, err = e.Plan(ctx, args[0])
				if err == nil && p.Status != inventory.PlanProposed && p.Status != inventory.PlanInterrupted {
					// Say so before showing it and asking for "yes".
					return schema.Errorf(schema.ECONFLICT, "plan %s is %s (run %s): a plan is applied once; run tana plan for a new one",
						p.ID, p.Status, p.RunID)
				}
			} else {
				p, err = e.MakePlan(ctx, f)
			}
			if err != nil {
				return err
			}
			if err := printPlan(c.stdout, p); err != nil {
				return err // nobody could read what would be applied
			}
			if p.Actionable() == 0 {
				return nil
			}
			if !auto {
				if err := confirm(c.stdout, os.Stdin, p.Actionable()); err != nil {
					return err
				}
			}
			res, err := e.Apply(ctx, p.ID, reconcile.ApplyOptions{OverrideLimits: override})
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "Applied plan %s: %d store fixes, %d reality fixes, status %s\n", res.Plan, res.Store, res.Reality, res.Status)
			for _, m := range res.Failed {
				fmt.Fprintf(c.stdout, "  failed: %s\n", m)
			}
			if len(res.Failed) > 0 {
				return schema.Errorf(schema.ECONFLICT, "%d fixes failed; the plan is marked %s", len(res.Failed), res.Status)
			}
			return nil
		},
	}
	filterFlags(cmd, &f)
	cmd.Flags().BoolVar(&auto, "auto-approve", false, "apply without asking")
	cmd.Flags().BoolVar(&override, "override-limits", false, "apply even past the safety limits")
	return cmd
}

// confirm asks for "yes" on a terminal before an apply.
func confirm(w io.Writer, in *os.File, n int) error {
	err := confirmText(w, in, fmt.Sprintf("Apply these %d fixes?", n))
	if schema.ErrorCode(err) == schema.EINVALID && strings.Contains(err.Error(), "not a terminal") {
		return schema.Errorf(schema.EINVALID, "stdin is not a terminal: re-run with --auto-approve to apply without asking")
	}
	return err
}

// confirmText asks question on a terminal and wants "yes".
func confirmText(w io.Writer, in *os.File, question string) error {
	st, err := in.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return schema.Errorf(schema.EINVALID, "stdin is not a terminal: re-run with --yes to go ahead without asking")
	}
	fmt.Fprintf(w, "%s Only 'yes' will be accepted: ", question)
	line, _ := bufio.NewReader(in).ReadString('\n')
	if strings.TrimSpace(line) != "yes" {
		return schema.Errorf(schema.EINVALID, "cancelled")
	}
	return nil
}

func newDriftCmd(c *cli) *cobra.Command {
	var f reconcile.Filter
	var asJSON bool
	var kind string
	cmd := &cobra.Command{
		Use:   "drift",
		Short: "List open drift (or resolved drift with --resolved)",
		Args:  cobra.NoArgs,
		RunE: c.withEngine(func(cmd *cobra.Command, e *reconcile.Engine) error {
			f.Kind = reconcile.Kind(kind)
			items, err := e.Drift(cmd.Context(), f)
			if err != nil {
				return err
			}
			if asJSON {
				if items == nil {
					items = []reconcile.Item{}
				}
				return writeJSON(c.stdout, items)
			}
			w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "FIRST SEEN\tSCOPE\tDRIFT")
			for i := range items {
				fmt.Fprintf(w, "%s\t%s\t%s\n", items[i].FirstSeen.Format("2006-01-02 15:04:05Z"), items[i].Scope, items[i].String())
			}
			return w.Flush()
		}),
	}
	filterFlags(cmd, &f)
	cmd.Flags().StringVar(&kind, "kind", "", "only this kind: missing_in_store, missing_in_reality, changed, conflict")
	cmd.Flags().BoolVar(&f.Resolved, "resolved", false, "list resolved drift instead of open drift")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newRunsCmd(c *cli) *cobra.Command {
	var rf inventory.RunFilter
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List collection, reconcile, apply and schedule runs, newest first",
		Args:  cobra.NoArgs,
		RunE: c.withEngine(func(cmd *cobra.Command, e *reconcile.Engine) error {
			runs, err := e.Runs(cmd.Context(), rf)
			if err != nil {
				return err
			}
			if asJSON {
				if runs == nil {
					runs = []inventory.RunRecord{}
				}
				return writeJSON(c.stdout, runs)
			}
			w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "STARTED\tKIND\tSOURCE\tSTATUS\tDURATION\tOBJECTS\tCHANGES\tERRORS")
			for _, r := range runs {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\n", r.StartedAt.Format("2006-01-02 15:04:05Z"), r.Kind, r.Source,
					r.Status, r.Duration, r.Objects, r.Changes, strings.Join(r.Errors, "; "))
			}
			return w.Flush()
		}),
	}
	cmd.Flags().StringVar(&rf.Kind, "kind", "", "only runs of this kind: collect, reconcile, apply, schedule")
	cmd.Flags().StringVar(&rf.Source, "source", "", "only runs of this source")
	cmd.Flags().IntVar(&rf.Limit, "limit", 50, "at most this many runs")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newReportCmd(c *cli) *cobra.Command {
	var format, id string
	var since time.Duration
	var save bool
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Write a drift report: counts by kind, type and source, then the items",
		Long: `Write a drift report of the open drift and of what was resolved in the last --since,
as Markdown, JSON or HTML. --save stores it with the report history; --id prints a stored one.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			e, _, closeFn, err := c.engine(ctx, false)
			if err != nil {
				return err
			}
			defer closeFn()
			var r *reconcile.Report
			if id != "" {
				r, err = e.StoredReport(ctx, id)
			} else {
				r, err = e.Report(ctx, time.Now().Add(-since))
			}
			if err != nil {
				return err
			}
			if save && id == "" {
				if err := e.SaveReport(ctx, r); err != nil {
					return err
				}
				c.logger().Info("report stored", "id", r.ID)
			}
			return reconcile.Render(c.stdout, r, format)
		},
	}
	cmd.Flags().StringVar(&format, "format", "md", "md, json or html")
	cmd.Flags().DurationVar(&since, "since", 24*time.Hour, "report what was resolved or newly seen in this window")
	cmd.Flags().BoolVar(&save, "save", false, "store the report with the report history")
	cmd.Flags().StringVar(&id, "id", "", "print the stored report with this id")
	return cmd
}
