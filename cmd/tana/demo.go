package main

import "github.com/spf13/cobra"

// Owned by the demo work (issue 9).

func newDemoCmd(c *cli) *cobra.Command { return notYet("demo", "Run the embedded demo") }
