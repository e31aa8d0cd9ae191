package main

import "github.com/spf13/cobra"

// Owned by the Ansible work (issue 8).

func newInventoryCmd(c *cli) *cobra.Command {
	return notYet("inventory", "Ansible dynamic inventory")
}
