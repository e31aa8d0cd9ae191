package main

import "github.com/spf13/cobra"

// Owned by the server work (issue 7).

func newServeCmd(c *cli) *cobra.Command { return notYet("serve", "Run the HTTP server") }

func newTokenCmd(c *cli) *cobra.Command { return notYet("token", "Manage API tokens") }
