package main

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tana-cmdb/tana/allocate"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

func newAllocateCmd(c *cli) *cobra.Command {
	var r allocate.Request
	var vars []string
	var confirm, asJSON bool
	cmd := &cobra.Command{
		Use:   "allocate POOL",
		Short: "Hand out addresses, names or serial numbers from a pool, each once",
		Long: `Grant values from an ip_pool or name_pool, each at most once, however many clients ask
at once (a lock on the pool, and unique indexes behind it). A value reality holds — an
address a VM or a DNS record has, a name in use — is skipped, and the reason printed.

--key makes the request idempotent: run it again with the same key (after a timeout, a
crash) and you get the same values back, never a second grant. --hold reserves the values
for a while: they return to the pool unless you confirm them (--confirm --key K).
--for binds the values to an entry: vm/web07 gets the address as its ip (a name pool
renames it); for a name pool, --for vm creates one vm entry per name. With --dns the
entry's dns_name is declared in the ip_pool's zone, so the next plan creates its A and PTR
records (tana plan, tana apply).

  tana allocate web-names --for vm --key ticket-42           # → web07, a new vm entry
  tana allocate lab-ips --for vm/web07 --dns --key ticket-42 # → 192.0.2.57, web07.lab.example.com.
  tana allocate lab-ips --hold 10m --key try-1               # reserve; then --confirm --key try-1`,
		Args: cobra.ExactArgs(1),
		RunE: c.withStore(func(cmd *cobra.Command, s *inventory.Store, args []string) error {
			r.Pool, r.Actor = args[0], c.actor()
			if r.Count < 1 {
				return schema.FieldErrorf(schema.EINVALID, "count", "want at least 1 value, got %d", r.Count)
			}
			a := allocate.New(s, allocate.Options{Logger: c.logger()})
			var g *allocate.Grant
			var err error
			if confirm {
				if r.Key == "" {
					return schema.FieldErrorf(schema.EINVALID, "key", "--confirm needs the --key of the held grant")
				}
				g, err = a.Confirm(cmd.Context(), r.Pool, r.Key)
			} else {
				if r.Vars, err = parseVars(vars); err != nil {
					return err
				}
				g, err = a.Allocate(cmd.Context(), r)
			}
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c.stdout, g)
			}
			return printGrant(c, g)
		}),
	}
	f := cmd.Flags()
	f.IntVar(&r.Count, "count", 1, "how many values")
	f.StringVar(&r.Key, "key", "", "idempotency key: the same key gets the same grant back")
	f.DurationVar(&r.Hold, "hold", 0, "reserve for this long (e.g. 10m): the values return to the pool unless confirmed")
	f.StringVar(&r.For, "for", "", "the entry the values are for: TYPE/NAME, or TYPE for new entries named by a name pool")
	f.BoolVar(&r.DNS, "dns", false, "declare the entry's dns_name in the pool's zone, so the next plan creates its A and PTR records")
	f.StringArrayVar(&vars, "var", nil, "a template variable, NAME=VALUE ({env}-db{seq:02}: --var env=prod)")
	f.StringVar(&r.Reason, "reason", "", "why, recorded with the grant")
	f.BoolVar(&confirm, "confirm", false, "confirm the held grant of --key instead of asking for values")
	f.BoolVar(&asJSON, "json", false, "print the grant as JSON")
	return cmd
}

func printGrant(c *cli, g *allocate.Grant) error {
	var b strings.Builder
	verb := "granted"
	switch {
	case g.Replayed:
		verb = "already " + g.Status
	case g.Status == inventory.AllocHeld:
		verb = "held"
	}
	fmt.Fprintf(&b, "%s %s from %s", verb, strings.Join(g.Values, ", "), g.Pool)
	if g.Key != "" {
		fmt.Fprintf(&b, " (key %s)", g.Key)
	}
	if len(g.For) > 0 {
		fmt.Fprintf(&b, " for %s", strings.Join(g.For, ", "))
	}
	if g.ExpiresAt != nil {
		fmt.Fprintf(&b, ", until %s: confirm with tana allocate %s --confirm --key %s", g.ExpiresAt.Format(time.RFC3339), g.Pool, g.Key)
	}
	b.WriteString("\n")
	if g.DNSName != "" {
		fmt.Fprintf(&b, "dns_name %s declared: tana plan shows its A and PTR records\n", g.DNSName)
	}
	for _, s := range g.Skipped {
		fmt.Fprintf(&b, "  skipped %s: %s\n", s.Value, s.Reason)
	}
	_, err := fmt.Fprint(c.stdout, b.String())
	return err
}

// parseVars reads NAME=VALUE template variables.
func parseVars(vars []string) (map[string]string, error) {
	out := map[string]string{}
	for i, v := range vars {
		k, val, ok := strings.Cut(v, "=")
		if !ok || k == "" {
			return nil, schema.FieldErrorf(schema.EINVALID, fmt.Sprintf("var[%d]", i), "%q is not NAME=VALUE", v)
		}
		out[k] = val
	}
	return out, nil
}

func newReleaseCmd(c *cli) *cobra.Command {
	var key, reason string
	cmd := &cobra.Command{
		Use:   "release POOL [VALUE…]",
		Short: "Give a grant's values (--key) or the values named back to a pool",
		Long: `Release values: those of the grant of --key, or the values named. They return to the
pool, which hands them out again once it has gone round (next fit: a released address is
not reused while caches may still hold it). Entries they were bound to keep their
attributes: an address a VM still has stays taken until reality lets it go.`,
		Args: cobra.MinimumNArgs(1),
		RunE: c.withStore(func(cmd *cobra.Command, s *inventory.Store, args []string) error {
			a := allocate.New(s, allocate.Options{Logger: c.logger()})
			g, err := a.Release(cmd.Context(), args[0], key, args[1:], reason)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(c.stdout, "released %s from %s\n", strings.Join(g.Values, ", "), g.Pool)
			return err
		}),
	}
	cmd.Flags().StringVar(&key, "key", "", "release the grant of this key")
	cmd.Flags().StringVar(&reason, "reason", "", "why, recorded with the release")
	return cmd
}

func newPoolsCmd(c *cli) *cobra.Command {
	var asJSON, all bool
	cmd := &cobra.Command{
		Use:   "pools [POOL]",
		Short: "List the pools and how full they are, or one pool's grants",
		Long: `Without POOL, list every ip_pool and name_pool: its size, how many values are granted
and held, how many are free, and what is wrong with a pool that cannot hand out anything.
With POOL, list its live grants — value, status, key, entry, who and why — or with --all
its released and expired ones too: the pool's history.`,
		Args: cobra.MaximumNArgs(1),
		RunE: c.withStore(func(cmd *cobra.Command, s *inventory.Store, args []string) error {
			a := allocate.New(s, allocate.Options{Logger: c.logger()})
			w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			if len(args) == 0 {
				ps, err := a.Pools(cmd.Context())
				if err != nil || asJSON {
					return errors.Join(err, writeJSONIf(asJSON, c, ps))
				}
				fmt.Fprintln(w, "POOL\tTYPE\tSIZE\tGRANTED\tHELD\tFREE\tPROBLEM")
				for _, p := range ps {
					size, free := fmt.Sprint(p.Size), fmt.Sprint(p.Free)
					if p.Size < 0 {
						size, free = "no end", "-"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t%s\t%s\n", p.Name, p.Type, size, p.Granted, p.Held, free, p.Problem)
				}
				return w.Flush()
			}
			as, err := a.Allocations(cmd.Context(), args[0], !all, 0)
			if err != nil || asJSON {
				return errors.Join(err, writeJSONIf(asJSON, c, as))
			}
			fmt.Fprintln(w, "VALUE\tSTATUS\tKEY\tENTRY\tBY\tAT\tREASON")
			for _, x := range as {
				entry := ""
				if x.EntryID != nil {
					entry = fmt.Sprint(*x.EntryID)
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", x.Value, x.Status, x.Key, entry, x.Actor, x.CreatedAt.Format("2006-01-02 15:04:05Z"), x.Reason)
			}
			return w.Flush()
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&all, "all", false, "with POOL: released and expired grants too")
	return cmd
}

// writeJSONIf writes v as JSON when asked to.
func writeJSONIf(asJSON bool, c *cli, v any) error {
	if !asJSON {
		return nil
	}
	return writeJSON(c.stdout, v)
}
