package dns

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/tana-cmdb/tana/collectors/dns/dnstest"
)

// serveNotify starts c.ServeNotify on a free loopback UDP port and returns
// its address and the channel of notified zones.
func serveNotify(t *testing.T, c *Collector) (string, <-chan string) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	zones := make(chan string, 16)
	done := make(chan error, 1)
	go func() { done <- c.ServeNotify(ctx, pc, func(z string) { zones <- z }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeNotify: %v", err)
		}
	})
	return pc.LocalAddr().String(), zones
}

func TestNotifyTriggersRecollection(t *testing.T) {
	// The listener must exist before named, which is told where it is.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	srv := dnstest.StartBIND(t, dnstest.Options{NotifyAddr: addr})
	c := newTestCollector(t, configFor(srv))
	collectAll(t, c)

	pc, err = net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	zones := make(chan string, 16)
	go func() { _ = c.ServeNotify(ctx, pc, func(z string) { zones <- z }) }()

	srv.NSUpdate(t, "update add notified.example.com. 60 IN A 192.0.2.88\nsend")
	// named may still be retrying its start-up NOTIFYs: take notifies
	// until one brings the change.
	deadline := time.After(10 * time.Second)
	for {
		select {
		case z := <-zones:
			if z != "example.com." {
				continue
			}
			snap, err := c.CollectZone(ctx, z)
			if err != nil || !snap.Complete {
				t.Fatalf("CollectZone: %v", err)
			}
			if _, ok := recordsOf(snap)["notified.example.com. A 192.0.2.88"]; ok {
				return
			}
		case <-deadline:
			t.Fatalf("no NOTIFY brought the change within 10s; named log:\n%s", srv.Log())
		}
	}
}

func TestNotifyRefusals(t *testing.T) {
	secret := "c2VjcmV0IHRoYXQgaXMgb2s="
	// The configured server is elsewhere: unsigned notifies from loopback
	// are refused, signed ones accepted.
	c := newTestCollector(t, Config{Name: "dns1", Server: "192.0.2.53:53", Zones: []string{"example.com."},
		TSIG: &TSIG{Name: "tana-key.", Secret: secret}})
	addr, zones := serveNotify(t, c)
	send := func(zone string, sign bool) int {
		m := new(dns.Msg)
		m.SetNotify(zone)
		cl := &dns.Client{Timeout: 2 * time.Second}
		if sign {
			m.SetTsig("tana-key.", dns.HmacSHA256, 300, time.Now().Unix())
			cl.TsigSecret = map[string]string{"tana-key.": secret}
		}
		r, _, err := cl.Exchange(m, addr)
		if err != nil {
			t.Fatalf("notify %s: %v", zone, err)
		}
		return r.Rcode
	}
	if rc := send("example.com.", false); rc != dns.RcodeRefused {
		t.Errorf("unsigned from a stranger: %s", rcodeName(rc))
	}
	if rc := send("other.org.", true); rc != dns.RcodeRefused {
		t.Errorf("unknown zone: %s", rcodeName(rc))
	}
	if rc := send("Example.COM.", true); rc != dns.RcodeSuccess {
		t.Errorf("signed: %s", rcodeName(rc))
	}
	select {
	case z := <-zones:
		if z != "example.com." {
			t.Errorf("zone %q", z)
		}
	case <-time.After(time.Second):
		t.Error("accepted NOTIFY not passed on")
	}
	if len(zones) != 0 {
		t.Errorf("refused notifies were passed on")
	}
}
