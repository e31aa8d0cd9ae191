package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tana-cmdb/tana/config"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/ansible"
)

// Owned by the Ansible work (issue 8).

func newInventoryCmd(c *cli) *cobra.Command {
	var list bool
	var host, query string
	cmd := &cobra.Command{
		Use:   "inventory --list [--query Q] | --host NAME",
		Short: "Ansible dynamic inventory (use as ansible-inventory -i contrib/tana-inventory)",
		Long: `inventory answers Ansible's dynamic-inventory contract: --list prints every host
with its vars under _meta.hostvars and every group; --host NAME prints one host's vars.
It reads the store (--db, TANA_DB, tana.yaml) or, when TANA_URL is set, a running
tana server's /ansible/inventory, with TANA_TOKEN as a bearer token.

--query (or TANA_INVENTORY_QUERY, for Ansible, which passes no flags to a script)
narrows the list as the tana.cmdb.inventory plugin's query and vars do, in the
query form of /ansible/inventory:
  type=vm&filter=role=web,db&filter=cpus>=4&owner=alice&team=ops&vars=role,cluster
(filter: attr=v1,v2  attr~text  attr<n  attr<=n  attr>n  attr>=n  attr  !attr).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			hostSet := cmd.Flags().Changed("host")
			if list == hostSet {
				return fmt.Errorf("inventory: give exactly one of --list or --host NAME")
			}
			if hostSet && host == "" {
				return fmt.Errorf("inventory: --host needs a host name")
			}
			if query == "" {
				query = c.getenv("TANA_INVENTORY_QUERY")
			}
			q, err := parseInventoryQuery(query)
			if err != nil {
				return err
			}
			if hostSet && !q.IsZero() {
				return fmt.Errorf("inventory: --query narrows --list only")
			}
			if u := c.getenv("TANA_URL"); u != "" {
				return c.inventoryFromServer(cmd.Context(), u, hostSet, host, q)
			}
			return c.inventoryFromStore(cmd.Context(), hostSet, host, q)
		},
	}
	cmd.Flags().BoolVar(&list, "list", false, "print the whole inventory")
	cmd.Flags().StringVar(&host, "host", "", "print the vars of one host")
	cmd.Flags().StringVar(&query, "query", "", "narrow the list: type=…&filter=…&owner=…&team=…&vars=… (env TANA_INVENTORY_QUERY)")
	return cmd
}

// parseInventoryQuery reads --query, strictly.
func parseInventoryQuery(raw string) (ansible.Query, error) {
	v, err := url.ParseQuery(raw)
	if err != nil {
		return ansible.Query{}, fmt.Errorf("inventory: --query: %w", err)
	}
	q, err := ansible.ParseQuery(v)
	if err != nil {
		return ansible.Query{}, fmt.Errorf("inventory: --query: %w", err)
	}
	return q, nil
}

// inventoryFromStore builds the inventory from the configured store.
func (c *cli) inventoryFromStore(ctx context.Context, hostSet bool, host string, q ansible.Query) error {
	s, cfg, err := c.openStore(ctx)
	if err != nil {
		return err
	}
	defer c.closeStore(s)
	inv, err := ansible.New(s, c.ansibleOptions(cfg.Ansible))
	if err != nil {
		return err
	}
	if hostSet {
		return inv.Host(ctx, c.stdout, host)
	}
	if inv, err = inv.Narrow(ctx, q); err != nil {
		return fmt.Errorf("inventory: --query: %w", err)
	}
	return inv.List(ctx, c.stdout)
}

// inventoryFromServer copies a server's answer to stdout.
func (c *cli) inventoryFromServer(ctx context.Context, base string, hostSet bool, host string, q ansible.Query) error {
	path := "/ansible/inventory"
	if hostSet {
		path += "?host=" + url.QueryEscape(host)
	} else if !q.IsZero() {
		path += "?" + q.Encode()
	}
	return c.fromServer(ctx, "inventory", base, path)
}

// fromServer copies the answer of a tana server (TANA_URL, TANA_TOKEN as
// a bearer token) to path to stdout: the server decides what the token
// may see.
func (c *cli) fromServer(ctx context.Context, what, base, path string) error {
	u := strings.TrimRight(base, "/") + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("%s: TANA_URL: %w", what, err)
	}
	if tok := c.getenv("TANA_TOKEN"); tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := (&http.Client{Timeout: 5 * time.Minute}).Do(req)
	if err != nil {
		return fmt.Errorf("%s: ask server: %w", what, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
		return fmt.Errorf("%s: server %s answered %s: %s", what, u, resp.Status, strings.TrimSpace(string(body)))
	}
	if _, err := io.Copy(c.stdout, resp.Body); err != nil {
		return fmt.Errorf("%s: read server answer: %w", what, err)
	}
	return nil
}

// ansibleHandler is the /ansible/inventory endpoint the server mounts. A
// configuration the store's types reject answers 500 with the reason.
func (c *cli) ansibleHandler(s *inventory.Store, cfg *config.Config) http.Handler {
	inv, err := ansible.New(s, c.ansibleOptions(cfg.Ansible))
	if err != nil {
		msg := err.Error()
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "ansible inventory misconfigured: "+msg, http.StatusInternalServerError)
		})
	}
	return ansible.Handler(inv)
}

// ansibleOptions converts tana.yaml's ansible section.
func (c *cli) ansibleOptions(a config.Ansible) ansible.Options {
	o := ansible.Options{
		Hosts:             a.Hosts,
		HostAddress:       a.HostAddress,
		HostvarsPrefix:    a.HostvarsPrefix,
		RefAttrs:          a.RefAttrs,
		GroupVarsFrom:     a.GroupVarsFrom,
		IncludeSecrets:    a.IncludeSecrets,
		IncludePoweredOff: a.IncludePoweredOff,
		IncludeTemplates:  a.IncludeTemplates,
		AllowTemplates:    a.AllowTemplates,
		Warn:              func(msg string) { c.logger().Warn(msg) },
	}
	for _, k := range a.KeyedGroups {
		o.KeyedGroups = append(o.KeyedGroups, ansible.KeyedGroup{Key: k.Key, Prefix: k.Prefix, Separator: k.Separator, Default: k.Default})
	}
	if a.KeyedGroups == nil { // not set; keyed_groups: [] is none
		o.KeyedGroups = ansible.DefaultKeyedGroups()
	}
	if len(a.Groups) > 0 {
		o.Groups = make(map[string]ansible.Group, len(a.Groups))
		for n, g := range a.Groups {
			o.Groups[n] = ansible.Group{Filters: g.Filters, Vars: g.Vars}
		}
	}
	return o
}
