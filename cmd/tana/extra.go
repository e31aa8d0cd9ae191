package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// extraCommands are the commands beyond the store. Each lives in its own
// file: serve.go (serve, token), reconcile.go (collect, plan, apply, drift,
// runs, report), inventory.go (inventory), demo.go (demo).
func extraCommands(c *cli) []*cobra.Command {
	cmds := []*cobra.Command{newServeCmd(c), newTokenCmd(c), newInventoryCmd(c), newDemoCmd(c)}
	return append(cmds, reconcileCommands(c)...)
}

// notYet is a placeholder for a command whose package has not landed.
func notYet(use, short string) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short + " (not available yet)",
		RunE: func(*cobra.Command, []string) error {
			return fmt.Errorf("%s is not available in this build yet", use)
		},
	}
}
