package reconcile

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// begin records the start of a run and starts its lease; work of the run
// goes under run.Context().
func (e *Engine) begin(ctx context.Context, kind, source string, tick time.Time) (*inventory.Run, error) {
	return e.store.StartRun(ctx, kind, source, inventory.RunOptions{Lease: e.opts.Lease, Tick: tick})
}

// end records how a run ended — interrupted when its context ended,
// failed with err, partial with msgs (what a source missed, what a safety
// limit held back), else ok — and frees its locks. Failing to record it is logged, not fatal: the work is done.
func (e *Engine) end(ctx context.Context, run *inventory.Run, objects, changes int, err error, msgs []string) {
	res := inventory.RunResult{Status: inventory.RunOK, Objects: objects, Changes: changes, Errors: msgs}
	if len(msgs) > 0 {
		res.Status = inventory.RunPartial
	}
	switch {
	case err == nil:
	case run.Context().Err() != nil:
		res.Status = inventory.RunInterrupted // stopped, or lost its lease
		res.Errors = append(res.Errors, err.Error())
	default:
		res.Status = inventory.RunFailed
		res.Errors = append(res.Errors, err.Error())
	}
	for _, m := range res.Errors {
		if strings.Contains(m, safetyLimit) {
			res.SafetyLimits = append(res.SafetyLimits, m)
		}
	}
	if err := run.Finish(ctx, res); err != nil {
		e.log.Warn("record the end of a run", "run", run.ID, "kind", run.Kind, "source", run.Source, "err", err)
	}
}

// safetyLimit starts the message of every safety limit the engine hits
// (see limitError, suspect, withinLimits): such a message in a run's end
// is a safety_limit.hit event.
const safetyLimit = "safety limit: "

// lockWaiting takes scope's lock for run, trying again while another run
// holds it, for up to wait; then it fails with that run's ELOCKED.
func (e *Engine) lockWaiting(ctx context.Context, run *inventory.Run, scope string, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		err := run.Lock(ctx, scope)
		if schema.ErrorCode(err) != schema.ELOCKED || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// guard ends a run that panicked as failed, freeing its locks, and lets
// the panic go on: a recovered panic (net/http, a resolver) must not leave
// the run renewing its locks. Deferred right after begin.
func (e *Engine) guard(ctx context.Context, run *inventory.Run) {
	if p := recover(); p != nil {
		e.end(context.WithoutCancel(ctx), run, 0, 0, fmt.Errorf("panic: %v", p), nil)
		panic(p)
	}
}

// Runs lists recorded runs, newest first; a run whose process died reads
// interrupted.
func (e *Engine) Runs(ctx context.Context, f inventory.RunFilter) ([]inventory.RunRecord, error) {
	return e.store.Runs(ctx, f)
}
