package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tana-cmdb/tana/config"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/version"
)

// cli holds global flags and the process environment, passed to every
// command (no globals).
type cli struct {
	dbURL      string
	configPath string
	logLevel   string
	logFormat  string

	stdout, stderr io.Writer
	getenv         func(string) string
}

func newCLI(stdout, stderr io.Writer, getenv func(string) string) *cli {
	return &cli{stdout: stdout, stderr: stderr, getenv: getenv}
}

func newRootCmd(c *cli) *cobra.Command {
	root := &cobra.Command{
		Use:   "tana",
		Short: "Inventory / CMDB with drift reconciliation for vSphere and DNS",
		Long: `tana keeps an entity/attribute store of your infrastructure (what people declare),
collects the actual state from vSphere and DNS, reports drift between the two and
applies or proposes fixes, and exports Ansible inventories, GraphQL and drift reports.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version.Get().String(),
	}
	root.SetVersionTemplate("{{.Version}}\n")
	pf := root.PersistentFlags()
	pf.StringVar(&c.dbURL, "db", "", "database: sqlite:PATH or postgres://… (env TANA_DB; default sqlite:tana.db)")
	pf.StringVar(&c.configPath, "config", "", "tana.yaml configuration file (env TANA_CONFIG)")
	pf.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	pf.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
	root.AddCommand(
		newMigrateCmd(c), newTypesCmd(c), newImportCmd(c), newExportCmd(c), newGetCmd(c),
		newHistoryCmd(c), newDeleteCmd(c), newRestoreCmd(c), newConfigCmd(c), newVersionCmd(c),
	)
	root.AddCommand(extraCommands(c)...)
	return root
}

// logger returns the structured logger for the chosen level and format,
// writing to stderr so stdout stays clean for data.
func (c *cli) logger() *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.logLevel)); err != nil {
		lvl = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lvl}
	if c.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(c.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(c.stderr, opts))
}

// configFile names tana.yaml: the flag, then TANA_CONFIG, then ./tana.yaml
// if it exists; "" for none (the defaults).
func (c *cli) configFile() string {
	path := c.configPath
	if path == "" {
		path = c.getenv("TANA_CONFIG")
	}
	if path == "" {
		if _, err := os.Stat("tana.yaml"); err == nil {
			path = "tana.yaml"
		}
	}
	return path
}

// readConfig decodes the configuration file (or takes the defaults), with
// the problems found in it, then applies TANA_DB and --db over it. Use load,
// which checks the rest.
func (c *cli) readConfig() (*config.Config, []config.Problem, error) {
	cfg, ps := config.Default(), []config.Problem(nil)
	if path := c.configFile(); path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, nil, fmt.Errorf("read config: %w", err)
		}
		cfg, ps = config.Decode(path, data)
	}
	if v := c.getenv("TANA_DB"); v != "" {
		cfg.DB.URL = v
	}
	if c.dbURL != "" {
		cfg.DB.URL = c.dbURL
	}
	return cfg, ps, nil
}

// openStore checks the configuration (see load) and only then opens and
// migrates the store.
func (c *cli) openStore(ctx context.Context, checks ...check) (*inventory.Store, *config.Config, error) {
	cfg, reg, err := c.load(checks...)
	if err != nil {
		return nil, nil, err
	}
	s, err := inventory.Open(ctx, cfg.DB.URL, reg, inventory.Options{Logger: c.logger(), MaxConns: cfg.DB.MaxConns})
	if err != nil {
		return nil, nil, err
	}
	if err := s.Migrate(ctx); err != nil {
		c.closeStore(s)
		return nil, nil, err
	}
	return s, cfg, nil
}

// closeStore closes s when a command is done with it. Its work is
// committed by then, so a failure is a warning, not the command's error.
func (c *cli) closeStore(s *inventory.Store) {
	if err := s.Close(); err != nil {
		c.logger().Warn("close the store", "err", err)
	}
}

// actor names the person running the CLI, for history.
func (c *cli) actor() string {
	for _, k := range []string{"TANA_ACTOR", "USER", "LOGNAME"} {
		if v := strings.TrimSpace(c.getenv(k)); v != "" {
			return v
		}
	}
	return "cli"
}

// withStore runs fn with the opened, migrated store and closes it after.
func (c *cli) withStore(fn func(cmd *cobra.Command, s *inventory.Store, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		s, _, err := c.openStore(cmd.Context())
		if err != nil {
			return err
		}
		defer c.closeStore(s)
		return fn(cmd, s, args)
	}
}
