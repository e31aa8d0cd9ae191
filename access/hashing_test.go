package access

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tana-cmdb/tana/inventory/inventorytest"
)

// A flood of logins checks at most maxHashing passwords at once (19 MiB
// each), and a login whose request has gone stops waiting.
func TestPasswordChecksAreBounded(t *testing.T) {
	s := inventorytest.Open(t, "sqlite")
	a, err := New(Options{Store: s})
	if err != nil {
		t.Fatal(err)
	}
	var peak atomic.Int32
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if n := a.inHash.Load(); n > peak.Load() {
				peak.Store(n)
			}
			time.Sleep(100 * time.Microsecond)
		}
	}()
	var wg sync.WaitGroup
	for range 3 * maxHashing {
		wg.Go(func() {
			if _, err := a.Login(context.Background(), "nobody", "password", ""); reason(err) != ReasonUnknownUser {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	close(stop)
	if p := peak.Load(); p > maxHashing || p < 2 {
		t.Fatalf("at most %d password checks at once, saw %d", maxHashing, p)
	}
	for range maxHashing {
		a.hashing <- struct{}{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := a.Login(ctx, "nobody", "password", ""); err == nil || ctx.Err() == nil {
		t.Fatalf("waited past the request's end: %v", err)
	}
}

func reason(err error) string {
	if le, ok := err.(*LoginError); ok {
		return le.Reason
	}
	return ""
}
