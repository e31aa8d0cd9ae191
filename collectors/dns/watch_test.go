package dns

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tana-cmdb/tana/collectors"
	"github.com/tana-cmdb/tana/collectors/dns/dnstest"
)

func TestWatchNotifyChanges(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := dnstest.StartBIND(t, dnstest.Options{NotifyAddr: pc.LocalAddr().String()})
	w := &Watcher{Collector: newTestCollector(t, configFor(srv)), Notify: pc}

	fulls := make(chan *collectors.Snapshot, 8)
	changes := make(chan collectors.Change, 8)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- w.Watch(ctx,
			func(s *collectors.Snapshot) error { fulls <- s; return nil },
			func(c collectors.Change) error { changes <- c; return nil })
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Watch: %v", err)
		}
	}()
	for range 2 {
		select {
		case s := <-fulls:
			if !s.Complete {
				t.Errorf("incomplete full snapshot %s", s.Scope)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no initial snapshots")
		}
	}

	srv.NSUpdate(t, "update add watched.example.com. 60 IN A 192.0.2.66\nupdate delete ftp.example.com. CNAME\nsend")
	select {
	case c := <-changes:
		if c.Scope != "dns:example.com." {
			t.Fatalf("change of %s", c.Scope)
		}
		var ups []string
		for _, o := range c.Upserts {
			ups = append(ups, o.ID)
		}
		if d := cmp.Diff([]string{"example.com.", "watched.example.com. A 192.0.2.66"}, ups); d != "" {
			t.Errorf("upserts (-want +got):\n%s", d)
		}
		if d := cmp.Diff([]collectors.Ref{{Type: TypeRecord, ID: "ftp.example.com. CNAME www.example.com."}}, c.Deletes); d != "" {
			t.Errorf("deletes (-want +got):\n%s", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no change within 10s; named log:\n%s", srv.Log())
	}
}

func TestDiffObjects(t *testing.T) {
	a := record("a.example.com.", "A", "192.0.2.1", int64(60))
	b := record("b.example.com.", "A", "192.0.2.2", int64(60))
	b2 := record("b.example.com.", "A", "192.0.2.2", int64(120))
	c := record("c.example.com.", "A", "192.0.2.3", int64(60))
	prev := map[string]collectors.Object{a.ID: a, b.ID: b}
	cur := map[string]collectors.Object{b.ID: b2, c.ID: c}
	got := diffObjects("dns:example.com.", nil, prev, cur)
	want := collectors.Change{Scope: "dns:example.com.", Upserts: []collectors.Object{b2, c},
		Deletes: []collectors.Ref{{Type: TypeRecord, ID: a.ID}}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}
