package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"text/tabwriter"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/tana-cmdb/tana/allocate"
	"github.com/tana-cmdb/tana/config"
	collection "github.com/tana-cmdb/tana/contrib/ansible"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/reconcile"
	"github.com/tana-cmdb/tana/server"
	"github.com/tana-cmdb/tana/version"
)

// Owned by the server work (issue 7).

func newServeCmd(c *cli) *cobra.Command {
	var listen string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the HTTP server: GraphQL, GraphiQL, Ansible inventory, metrics, health",
		Long: `Serve /graphql (POST, GET), /graphiql, /ansible/inventory, /metrics, /healthz and /readyz,
and the tana.cmdb Ansible collection at /ansible/tana-cmdb.tar.gz (no token needed:
ansible-galaxy collection install http://HOST:PORT/ansible/tana-cmdb.tar.gz).
The store is migrated at start. The event worker runs beside the server: it delivers the
events of every change to the subscriptions of tana.yaml's events section, retrying failed
deliveries; see tana events. With no API tokens and no users the server is open, but
only on a loopback address; once a token (tana token create) or a user (tana user add)
exists every request needs a token or a session (POST /login).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			e, cfg, closeStore, err := c.engine(ctx, true, checkSchedules, checkListen(listen), checkAuth, checkEvents)
			if err != nil {
				return err
			}
			defer closeStore()
			if listen != "" {
				cfg.Listen = listen
			}
			return c.serve(ctx, e, cfg, nil)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "", "address to listen on (default: listen from tana.yaml, 127.0.0.1:8080)")
	return cmd
}

// serve runs the server over e's store with the reconcile surface and the
// configured schedules until ctx ends, on ln or, if nil, on cfg.Listen.
func (c *cli) serve(ctx context.Context, e *reconcile.Engine, cfg *config.Config, ln net.Listener) error {
	s := e.Store()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	var infos []server.SourceInfo
	for _, sc := range cfg.Sources {
		infos = append(infos, server.SourceInfo{Name: sc.Name, Type: sc.Type})
	}
	auth, err := c.authenticator(cfg, s)
	if err != nil {
		return err
	}
	coll, err := collection.Build()
	if err != nil {
		return err
	}
	srv, err := server.New(server.Options{
		AnsibleCollection:  collection.Handler(coll),
		Version:            version.Get(),
		Auth:               auth,
		EventSubscriptions: subscriptions(cfg),
		Listen:             cfg.Listen,
		Store:              s,
		Logger:             c.logger(),
		Registerer:         reg,
		Gatherer:           reg,
		Limits:             cfg.Server,
		Ansible:            c.ansibleHandler(s, cfg),
		Reconcile:          e,
		Allocator:          allocate.New(s, allocate.Options{Logger: c.logger()}),
		Sources:            infos,
		Collect: func(ctx context.Context, name string) ([]reconcile.RunSummary, error) {
			cs, _, err := c.sources(ctx, cfg, []string{name})
			if err != nil {
				return nil, err
			}
			return e.Collect(ctx, cs[0])
		},
	})
	if err != nil {
		return err
	}
	if len(cfg.Schedules) > 0 {
		schedules, err := c.schedules(ctx, cfg)
		if err != nil {
			return err
		}
		sch, err := e.NewScheduler(schedules)
		if err != nil {
			return err
		}
		sch.Start()
		defer sch.Stop()
		c.logger().Info("schedules started", "count", len(schedules))
	}
	// The event worker stops with the server, after it: what it is
	// sending is finished and recorded before the store closes.
	wctx, stopEvents := context.WithCancel(ctx)
	waitEvents, err := startEvents(wctx, s, cfg, c.logger())
	if err != nil {
		stopEvents()
		return err
	}
	defer waitEvents()
	defer stopEvents()
	if ln == nil {
		return srv.Run(ctx)
	}
	return srv.Serve(ctx, ln)
}

func newTokenCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Manage API tokens (stored hashed)"}
	cmd.AddCommand(newTokenCreateCmd(c), newTokenListCmd(c), newTokenRevokeCmd(c))
	return cmd
}

func newTokenCreateCmd(c *cli) *cobra.Command {
	var role, name, user, team string
	cmd := &cobra.Command{
		Use:   "create --role reader|writer|admin [--user U | --team T] [--name NAME]",
		Short: "Create a token and print it once",
		Long: `Create a token and print it once. A token may belong to a user (--user) or a team
(--team): it then authenticates as that user or team, and --role may be left out (the
token then has only what its owner is granted). A token of no owner needs --role.`,
		Args: cobra.NoArgs,
		RunE: c.withStore(func(cmd *cobra.Command, s *inventory.Store, _ []string) error {
			if name == "" {
				b := make([]byte, 4)
				rand.Read(b)
				name = cmp.Or(user, team, role) + "-" + hex.EncodeToString(b)
			}
			secret, t, err := s.CreateTokenFor(cmd.Context(), c.by(), inventory.TokenSpec{Name: name, Role: role, User: user, Team: team})
			if err != nil {
				return err
			}
			// The token is shown only now: if it cannot be, say so.
			if _, err := fmt.Fprintln(c.stdout, secret); err != nil {
				return fmt.Errorf("print token %q (it exists now: revoke it): %w", t.Name, err)
			}
			fmt.Fprintf(c.stderr, "created token %q (%s); it is shown only now: use it as Authorization: Bearer <token>\n", t.Name, tokenOwner(t))
			return nil
		}),
	}
	cmd.Flags().StringVar(&role, "role", "", "reader (read), writer (read and write) or admin (also sees secret attributes)")
	cmd.Flags().StringVar(&name, "name", "", "token name, for listing and revoking (default: ROLE-random)")
	cmd.Flags().StringVar(&user, "user", "", "the user the token belongs to")
	cmd.Flags().StringVar(&team, "team", "", "the team the token belongs to")
	return cmd
}

// tokenOwner describes a token's role and owner.
func tokenOwner(t *inventory.Token) string {
	d := "role " + dash(t.Role)
	if t.User != "" {
		d += ", user " + t.User
	}
	if t.Team != "" {
		d += ", team " + t.Team
	}
	return d
}

func newTokenListCmd(c *cli) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List tokens (names and roles; the tokens themselves are not stored)",
		Args:  cobra.NoArgs,
		RunE: c.withStore(func(cmd *cobra.Command, s *inventory.Store, _ []string) error {
			ts, err := s.Tokens(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				if ts == nil {
					ts = []inventory.Token{}
				}
				return json.NewEncoder(c.stdout).Encode(ts)
			}
			w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tROLE\tUSER\tTEAM\tCREATED\tLAST USED")
			for _, t := range ts {
				used := "-"
				if t.LastUsedAt != nil {
					used = t.LastUsedAt.Format("2006-01-02 15:04Z") + " from " + t.LastUsedFrom
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", t.Name, dash(t.Role), dash(t.User), dash(t.Team), t.CreatedAt.Format("2006-01-02 15:04:05Z"), used)
			}
			return w.Flush()
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newTokenRevokeCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke NAME",
		Short: "Delete a token; requests with it fail from now on",
		Args:  cobra.ExactArgs(1),
		RunE: c.withStore(func(cmd *cobra.Command, s *inventory.Store, args []string) error {
			if err := s.RevokeTokenBy(cmd.Context(), c.by(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "revoked %s\n", args[0])
			return nil
		}),
	}
}
