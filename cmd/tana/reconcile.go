package main

import "github.com/spf13/cobra"

// Owned by the reconcile work (issue 6).

func reconcileCommands(c *cli) []*cobra.Command {
	return []*cobra.Command{
		notYet("collect", "Collect sources and reconcile"),
		notYet("plan", "Show the fixes for current drift"),
		notYet("apply", "Apply a plan"),
		notYet("drift", "List open drift"),
		notYet("runs", "List collection and reconcile runs"),
		notYet("report", "Write a drift report"),
	}
}
