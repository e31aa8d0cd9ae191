package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newConfigCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Check the configuration (tana.yaml)", Args: cobra.NoArgs}
	cmd.AddCommand(newConfigCheckCmd(c))
	return cmd
}

func newConfigCheckCmd(c *cli) *cobra.Command {
	var skipEnv bool
	cmd := &cobra.Command{
		Use:   "check [FILE]",
		Short: "Check tana.yaml without touching the database; list every problem with its line",
		Long: `Check reads the configuration (FILE, else --config, TANA_CONFIG or ./tana.yaml) and
checks everything tana checks before it opens the database, reporting every problem at
once with its line: unknown keys and values, URLs, cron expressions, durations and limits,
the entity types (types:) and every reference to a type or attribute (policies, the
ansible section), report formats, TSIG algorithms, and that the environment variables
holding the sources', webhooks', event subscriptions' and LDAP service account's secrets are set and the LDAP
CA file reads (--skip-env leaves those out, for a machine without them). It exits 0 when all is well and 1 otherwise.

It never opens the database. One rule needs it: serve refuses a non-loopback listen
address unless the database holds an API token; check reports that only when the
database does not exist yet, and notes the requirement otherwise.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				c.configPath = args[0]
			}
			checks := []check{checkListen("")}
			if !skipEnv {
				checks = append(checks, c.checkSources, checkSchedules, checkAuth, checkEvents)
			}
			cfg, reg, err := c.load(checks...)
			if err != nil {
				return err
			}
			file := c.configFile()
			if file == "" {
				file = "no configuration file; the defaults"
			}
			fmt.Fprintf(c.stdout, "%s: ok (%d sources, %d schedules, %d entity types)\n", file, len(cfg.Sources), len(cfg.Schedules), len(reg.Types()))
			if exposed(cfg.Listen) && !cfg.Server.AllowOpenNonLoop {
				fmt.Fprintf(c.stderr, "note: listen %s is not loopback: tana serve starts only if the database holds an API token (tana token create)\n", cfg.Listen)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&skipEnv, "skip-env", false, "do not check that the secrets' environment variables are set")
	return cmd
}
