package main

import "github.com/spf13/cobra"

// extraCommands are the commands beyond the store. Each lives in its own
// file: serve.go (serve, token), reconcile.go (collect, plan, apply, drift,
// runs, report), inventory.go (inventory), demo.go (demo), set.go (set),
// allocate.go (allocate, release, pools), grants.go (grant, revoke, grants),
// users.go (user, team, audit).
func extraCommands(c *cli) []*cobra.Command {
	cmds := []*cobra.Command{newServeCmd(c), newTokenCmd(c), newInventoryCmd(c), newDemoCmd(c), newSetCmd(c),
		newAllocateCmd(c), newReleaseCmd(c), newPoolsCmd(c), newGrantCmd(c), newRevokeCmd(c), newGrantsCmd(c),
		newUserCmd(c), newTeamCmd(c), newAuditCmd(c), newEventsCmd(c)}
	return append(cmds, reconcileCommands(c)...)
}
