// Command tana is the inventory / CMDB service with drift reconciliation.
// This package is flags, signals and wiring only.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/tana-cmdb/tana/schema"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd := newRootCmd(newCLI(os.Stdout, os.Stderr, os.Getenv))
	cmd.SetArgs(os.Args[1:])
	err := cmd.ExecuteContext(ctx)
	os.Exit(exitCode(err))
}

// exitError ends the process with a code and no extra message (plan's
// --detailed-exitcode uses 2 for "drift").
type exitError struct{ code int }

// exitIncomplete is collect's exit code when a scope came back incomplete.
const exitIncomplete = 3

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	msg := err.Error()
	if code := schema.ErrorCode(err); code != schema.EINTERNAL {
		msg = code + ": " + msg
	}
	fmt.Fprintln(os.Stderr, "tana:", msg)
	return 1
}
