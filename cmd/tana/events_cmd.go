package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/tana-cmdb/tana/events"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

func newEventsCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "events",
		Short: "The event delivery log: list, show and redeliver",
		Long: `Every change tana makes writes events (entry.created, drift.detected, plan.applied, …)
in its own transaction; tana serve delivers them to the subscriptions of tana.yaml's
events section, signed (Standard Webhooks), retrying
failed deliveries with exponential backoff and jitter. These commands read and act on
the delivery log.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newEventsListCmd(c), newEventsShowCmd(c), newEventsRedeliverCmd(c))
	return cmd
}

func newEventsListCmd(c *cli) *cobra.Command {
	var f inventory.DeliveryFilter
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [--status pending|delivered|failed] [--subscription S] [--type T] [--json]",
		Short: "List deliveries, newest first, with events waiting to be routed",
		Args:  cobra.NoArgs,
		RunE: c.withStore(func(cmd *cobra.Command, s *inventory.Store, _ []string) error {
			if f.Type != "" && !schema.IsEventType(f.Type) {
				return schema.FieldErrorf(schema.EINVALID, "--type", "unknown event type %q (want one of %v)", f.Type, schema.EventTypes)
			}
			ds, err := s.Deliveries(cmd.Context(), f)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(c.stdout).Encode(ds)
			}
			unrouted, pending, err := s.EventCounts(cmd.Context())
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tEVENT\tSUBJECT\tSUBSCRIPTION\tSTATUS\tATTEMPTS\tCODE\tUPDATED\tLAST ERROR")
			for _, d := range ds {
				code := "-"
				if d.ResponseCode != 0 {
					code = strconv.Itoa(d.ResponseCode)
				}
				fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", d.ID, d.Event.Type, d.Subject, d.Subscription, d.Status, d.Attempts, code,
					d.UpdatedAt.Format("2006-01-02 15:04:05Z"), dash(d.LastError))
			}
			if err := w.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(c.stderr, "%d events wait to be routed; pending deliveries: %v\n", unrouted, pending)
			return nil
		}),
	}
	fl := cmd.Flags()
	fl.StringVar(&f.Status, "status", "", "only deliveries in this status: pending, delivered or failed")
	fl.StringVar(&f.Subscription, "subscription", "", "only this subscription's deliveries")
	fl.StringVar(&f.Type, "type", "", "only events of this type (drift.detected, entry.updated, …)")
	fl.StringVar(&f.Subject, "subject", "", "only events about this subject (vm/web01, plan/ID, …)")
	fl.Int64Var(&f.Before, "before", 0, "only deliveries with a smaller id (to page back)")
	fl.IntVar(&f.Limit, "limit", 100, fmt.Sprintf("at most this many deliveries (up to %d)", inventory.MaxDeliveryPage))
	fl.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newEventsShowCmd(c *cli) *cobra.Command {
	var source string
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show one delivery, its log and the CloudEvent it sends, as JSON",
		Args:  cobra.ExactArgs(1),
		RunE: c.withStore(func(cmd *cobra.Command, s *inventory.Store, args []string) error {
			id, err := deliveryID(args[0])
			if err != nil {
				return err
			}
			d, err := s.Delivery(cmd.Context(), id)
			if err != nil {
				return err
			}
			ce, err := events.Envelope(source, d.Event)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(c.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(struct {
				*inventory.Delivery
				CloudEvent events.CloudEvent `json:"cloudevent"`
			}{d, ce})
		}),
	}
	cmd.Flags().StringVar(&source, "source", events.DefaultSource, "the CloudEvents source to show (tana.yaml events.source)")
	return cmd
}

func newEventsRedeliverCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "redeliver ID",
		Short: "Send a delivery again (failed or delivered): tana serve sends it at once, retrying afresh",
		Args:  cobra.ExactArgs(1),
		RunE: c.withStore(func(cmd *cobra.Command, s *inventory.Store, args []string) error {
			id, err := deliveryID(args[0])
			if err != nil {
				return err
			}
			d, err := s.Redeliver(cmd.Context(), id, c.by())
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "delivery %d (%s %s to %s) is pending again\n", d.ID, d.Event.Type, d.Subject, d.Subscription)
			return nil
		}),
	}
}

func deliveryID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, schema.FieldErrorf(schema.EINVALID, "ID", "want a delivery id (a positive number, from tana events list), got %q", s)
	}
	return id, nil
}
