package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tana-cmdb/tana/demo"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/reconcile"
)

func newDemoCmd(c *cli) *cobra.Command {
	var dir, listen string
	var perCluster int
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the embedded demo: vSphere simulator, DNS server, real drift, and the server",
		Long: `demo starts a lab in this process — a vCenter simulator (3 clusters, 6 hosts, VMs with
guest IPs) and an authoritative DNS server with the lab's forward and reverse zones — writes a
tana.yaml for it, collects both, then changes reality behind tana's back (a VM resized and
renamed, a VM created without DNS records, an orphan A record), collects again and serves
GraphQL, the Ansible inventory and the drift report on --listen. Try tana plan and tana apply
from another shell. Ctrl-C stops it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.runDemo(cmd.Context(), dir, listen, perCluster)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "directory for the database, tana.yaml and env.sh (default: a new temporary directory, removed at exit)")
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8080", "address of the server")
	cmd.Flags().IntVar(&perCluster, "vms", 8, "VMs per cluster")
	cmd.AddCommand(newDemoVMCmd(c))
	return cmd
}

// newDemoVMCmd creates a VM in a running demo's vCenter simulator, as
// someone in vCenter would (the provisioning walk-through's last step).
func newDemoVMCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "vm NAME IP [HOSTNAME]",
		Short: "Create a powered-on VM in the running demo's vCenter, with a guest IP (and host name)",
		Long: `Create a VM in the vCenter simulator of a running tana demo, as someone in vCenter would:
powered on, its VMware Tools reporting IP and HOSTNAME. It reads the demo's GOVC_URL,
GOVC_USERNAME, GOVC_PASSWORD and GOVC_TLS_CA_CERTS: source the env.sh the demo printed.`,
		Args: cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			vc, err := demo.Connect(ctx, c.getenv("GOVC_URL"), c.getenv("GOVC_USERNAME"), c.getenv("GOVC_PASSWORD"), c.getenv("GOVC_TLS_CA_CERTS"))
			if err != nil {
				return fmt.Errorf("the demo's vCenter (source its env.sh): %w", err)
			}
			defer vc.Close()
			host := ""
			if len(args) == 3 {
				host = args[2]
			}
			if _, err := vc.CreateVM(ctx, args[0], args[1], host); err != nil {
				return err
			}
			_, err = fmt.Fprintf(c.stdout, "created vm %s (%s) in the demo's vCenter: tana collect brings it in\n", args[0], args[1])
			return err
		},
	}
}

func (c *cli) runDemo(ctx context.Context, dir, listen string, perCluster int) error {
	log := c.logger()
	if dir == "" {
		tmp, err := os.MkdirTemp("", "tana-demo-")
		if err != nil {
			return err
		}
		defer func() {
			if err := os.RemoveAll(tmp); err != nil {
				log.Warn("remove the demo's directory", "dir", tmp, "err", err)
			}
		}()
		dir = tmp
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	dir, _ = filepath.Abs(dir)
	// Bind first: a busy port fails now, and --listen 127.0.0.1:0 works.
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", listen, err)
	}
	defer ln.Close()
	listen = ln.Addr().String()
	log.Info("starting the lab", "clusters", 3, "hosts", 6, "vms", 3*perCluster)
	env, err := demo.Start(ctx, perCluster, log)
	if err != nil {
		return err
	}
	defer env.Close()
	// The generated tana.yaml reads its secrets from the environment, like
	// any other; this process and env.sh provide them.
	for k, v := range env.Env() {
		if err := os.Setenv(k, v); err != nil {
			return fmt.Errorf("set %s: %w", k, err)
		}
	}
	cfgPath, err := env.WriteConfig(dir, "sqlite:"+filepath.Join(dir, "tana.db"), listen)
	if err != nil {
		return err
	}
	if err := writeEnvFile(dir, cfgPath, env.Env()); err != nil {
		return err
	}
	c.configPath = cfgPath
	e, cfg, closeStore, err := c.engine(ctx, true)
	if err != nil {
		return err
	}
	defer closeStore()
	if err := c.demoCollect(ctx, e, "first collection"); err != nil {
		return err
	}
	if _, err := e.Store().Upsert(ctx, inventory.Meta{Actor: "demo", Source: "import", Reason: "owners and roles from the CMDB"}, env.Declared(), inventory.UpsertOptions{}); err != nil {
		return fmt.Errorf("declare owners and roles: %w", err)
	}
	log.Info("changing reality behind tana's back", "resized", demo.ResizedVM, "renamed_to", demo.RenamedTo, "created", demo.NewVM, "dns", demo.OrphanRecord)
	if err := env.Drift(ctx); err != nil {
		return fmt.Errorf("script drift: %w", err)
	}
	if err := c.demoCollect(ctx, e, "second collection"); err != nil {
		return err
	}
	printDemoHelp(c, dir, cfg.Listen)
	return c.serve(ctx, e, cfg, ln)
}

// demoCollect collects every configured source once.
func (c *cli) demoCollect(ctx context.Context, e *reconcile.Engine, what string) error {
	cfg, _, err := c.load()
	if err != nil {
		return err
	}
	cs, _, err := c.sources(ctx, cfg, nil)
	if err != nil {
		return err
	}
	for _, col := range cs {
		sums, err := e.Collect(ctx, col)
		if err != nil {
			return fmt.Errorf("%s of %s: %w", what, col.Name(), err)
		}
		for _, s := range sums {
			c.logger().Info(what, "scope", s.Scope, "objects", s.Objects, "applied", s.Applied, "open_drift", s.Open)
		}
	}
	return nil
}

func writeEnvFile(dir, cfgPath string, env map[string]string) error {
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("# Source this file to use the running demo from another shell.\n")
	fmt.Fprintf(&b, "export TANA_CONFIG=%s\n", cfgPath)
	for _, k := range keys {
		fmt.Fprintf(&b, "export %s=%s\n", k, env[k])
	}
	return os.WriteFile(filepath.Join(dir, "env.sh"), []byte(b.String()), 0o600)
}

func printDemoHelp(c *cli, dir, listen string) {
	self, err := os.Executable()
	if err != nil {
		self = "tana"
	}
	base := "http://" + listen
	fmt.Fprintf(c.stdout, `
  Web UI         %[1]s/

tana demo is running: a vCenter simulator, a DNS server and tana on %[1]s.
Reality has drifted: %[3]s was resized and renamed to %[4]s, %[5]s was created with no DNS
records, and someone added "%[6]s" by hand.

  GraphiQL       %[1]s/graphiql
                 { vms(first: 5, orderBy: NAME_ASC) { totalCount edges { node { name cpus memoryMb ip host { name cluster { name } } } } } }
  Drift report   %[1]s/reports?format=html
  Ansible        %[1]s/ansible/inventory

In another shell:
  source %[2]s/env.sh
  %[7]s drift                        # what differs, and what was already brought into the store
  %[7]s history vm %[4]s             # the rename and resize, recorded with source vsphere:vc1
  %[7]s plan                         # the DNS fixes: A and PTR for %[5]s, remove the orphan A record
  %[7]s apply --auto-approve         # RFC 2136 updates, TSIG-signed
  %[7]s collect && %[7]s plan        # no drift left
  TANA_BIN=%[7]s ansible-inventory -i contrib/tana-inventory --graph

Ctrl-C stops the demo.
`, base, dir, demo.ResizedVM, demo.RenamedTo, demo.NewVM, strings.Join(strings.Fields(demo.OrphanRecord), " "), self)
}
