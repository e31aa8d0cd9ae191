package server

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/server/servertest"
)

// cpuTime is the CPU time this process has used.
func cpuTime(t testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestHostileQueries sends each probe of issue 20 to a server with the
// default limits: each is answered (or refused) with the expected error
// within a second of CPU, and the server keeps serving.
func TestHostileQueries(t *testing.T) {
	s := inventorytest.Open(t, "sqlite")
	seed(t, s, 3)
	ts := start(t, s)
	for _, h := range servertest.HostileQueries() {
		t.Run(h.Name, func(t *testing.T) {
			cpu, wall := cpuTime(t), time.Now()
			r := ts.do(t, "", h.Query, nil)
			cpuUsed, wallUsed := cpuTime(t)-cpu, time.Since(wall)
			t.Logf("%d bytes: %d in %v (CPU %v)", len(h.Query), r.Status, wallUsed.Round(time.Millisecond), cpuUsed.Round(time.Millisecond))
			if cpuUsed > time.Second {
				t.Errorf("took %v of CPU", cpuUsed)
			}
			if r.Status != h.Status || r.code() != h.Code {
				t.Fatalf("status %d code %q, want %d %q: %+v", r.Status, r.code(), h.Status, h.Code, firstErrors(r))
			}
			if h.Message != "" && !strings.Contains(r.Errors[0].Message, h.Message) {
				t.Fatalf("error %q, want %q", r.Errors[0].Message, h.Message)
			}
			ts.query(t, `{ vm(name: "vm001") { name } }`, nil, nil)
		})
	}
}

func firstErrors(r *gqlResponse) []gqlErrorBody {
	return r.Errors[:min(len(r.Errors), 3)]
}
