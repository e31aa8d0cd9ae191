package dns

import (
	"context"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// fakeServer is a tiny unsigned DNS-over-TCP server whose transfers
// misbehave on purpose: named cannot be made to cut a transfer in half.
type fakeServer struct {
	addr   string
	serial atomic.Uint32
	// xfr answers an AXFR or IXFR query; it returns false to close the
	// connection abruptly.
	xfr  func(c *dns.Conn, q *dns.Msg) bool
	mu   sync.Mutex
	seen []uint16 // query types received
}

func startFake(t *testing.T, xfr func(f *fakeServer, c *dns.Conn, q *dns.Msg) bool) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	f := &fakeServer{addr: ln.Addr().String()}
	f.serial.Store(1)
	f.xfr = func(c *dns.Conn, q *dns.Msg) bool { return xfr(f, c, q) }
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go f.serve(nc)
		}
	}()
	return f
}

func (f *fakeServer) serve(nc net.Conn) {
	defer func() { _ = nc.Close() }() // the client hung up, or the test ended
	c := &dns.Conn{Conn: nc}
	for {
		q, err := c.ReadMsg()
		if err != nil {
			return
		}
		f.mu.Lock()
		f.seen = append(f.seen, q.Question[0].Qtype)
		f.mu.Unlock()
		if q.Question[0].Qtype == dns.TypeSOA {
			r := new(dns.Msg)
			r.SetReply(q)
			r.Authoritative = true
			r.Answer = []dns.RR{f.soa()}
			_ = c.WriteMsg(r)
			continue
		}
		if !f.xfr(c, q) {
			return
		}
	}
}

func (f *fakeServer) soa() *dns.SOA {
	rr, _ := dns.NewRR("example.com. 3600 IN SOA ns1.example.com. h.example.com. " + itoa(int(f.serial.Load())) + " 1 1 1 1")
	return rr.(*dns.SOA)
}

func (f *fakeServer) queries(qtype uint16) (n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range f.seen {
		if t == qtype {
			n++
		}
	}
	return n
}

// reply writes one transfer message with rrs.
func reply(c *dns.Conn, q *dns.Msg, rrs ...dns.RR) {
	r := new(dns.Msg)
	r.SetReply(q)
	r.Authoritative = true
	r.Answer = rrs
	_ = c.WriteMsg(r)
}

func fakeRecords(t *testing.T, n int) []dns.RR {
	var out []dns.RR
	for i := range n {
		out = append(out, mustRR(t, "h"+itoa(i)+".example.com. 60 IN A 192.0.2."+itoa(i+1)))
	}
	return out
}

func fakeCollector(t *testing.T, f *fakeServer) *Collector {
	return newTestCollector(t, Config{Name: "dns1", Server: f.addr, Zones: []string{"example.com."}, Timeout: 300 * time.Millisecond})
}

func TestCollectBrokenTransfers(t *testing.T) {
	cases := []struct {
		name string
		xfr  func(t *testing.T, f *fakeServer, c *dns.Conn, q *dns.Msg) bool
		want string
	}{
		{"closed mid-transfer", func(t *testing.T, f *fakeServer, c *dns.Conn, q *dns.Msg) bool {
			reply(c, q, append([]dns.RR{f.soa()}, fakeRecords(t, 3)...)...)
			return false
		}, "transfer ended before the closing SOA: read answer: connection closed by the server"},
		{"stalls mid-transfer", func(t *testing.T, f *fakeServer, c *dns.Conn, q *dns.Msg) bool {
			reply(c, q, append([]dns.RR{f.soa()}, fakeRecords(t, 3)...)...)
			time.Sleep(time.Second)
			return false
		}, "transfer ended before the closing SOA: read answer: timeout after 300ms"},
		{"garbage message", func(t *testing.T, f *fakeServer, c *dns.Conn, q *dns.Msg) bool {
			reply(c, q, append([]dns.RR{f.soa()}, fakeRecords(t, 3)...)...)
			_, _ = c.Write([]byte{byte(q.Id >> 8), byte(q.Id), 0x84, 0, 0, 0, 0, 5, 0, 0, 0, 0, 1, 2, 3})
			return false
		}, "malformed answer"},
		{"truncated", func(t *testing.T, f *fakeServer, c *dns.Conn, q *dns.Msg) bool {
			r := new(dns.Msg)
			r.SetReply(q)
			r.Truncated = true
			r.Answer = []dns.RR{f.soa()}
			_ = c.WriteMsg(r)
			return true
		}, "malformed answer: truncated"},
		{"wrong message id", func(t *testing.T, f *fakeServer, c *dns.Conn, q *dns.Msg) bool {
			q.Id++
			reply(c, q, f.soa(), f.soa())
			return true
		}, "not an answer to our query"},
		{"refused", func(t *testing.T, f *fakeServer, c *dns.Conn, q *dns.Msg) bool {
			r := new(dns.Msg)
			r.SetRcode(q, dns.RcodeRefused)
			_ = c.WriteMsg(r)
			return true
		}, "AXFR: transfer refused (REFUSED)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := startFake(t, func(f *fakeServer, c *dns.Conn, q *dns.Msg) bool { return tc.xfr(t, f, c, q) })
			snaps, _ := fakeCollector(t, f).Collect(context.Background())
			s := snaps[0]
			if s.Complete || len(s.Objects) != 0 || len(s.Errors) != 1 {
				t.Fatalf("complete=%v objects=%d errors=%q", s.Complete, len(s.Objects), s.Errors)
			}
			if prefix := "dns dns1: zone example.com. from " + f.addr + ": "; !strings.HasPrefix(s.Errors[0], prefix) || !strings.Contains(s.Errors[0], tc.want) {
				t.Errorf("error %q, want %q…%q", s.Errors[0], prefix, tc.want)
			}
		})
	}
}

// A failed transfer after a good one leaves the last complete copy alone,
// and the next unchanged SOA is served from it.
func TestCollectFailureKeepsCache(t *testing.T) {
	var cut atomic.Bool
	f := startFake(t, func(f *fakeServer, c *dns.Conn, q *dns.Msg) bool {
		if q.Question[0].Qtype == dns.TypeIXFR {
			r := new(dns.Msg)
			r.SetRcode(q, dns.RcodeNotImplemented)
			_ = c.WriteMsg(r)
			return true
		}
		rrs := append([]dns.RR{f.soa()}, fakeRecords(t, int(f.serial.Load())+1)...)
		if cut.Load() {
			reply(c, q, rrs...)
			return false
		}
		reply(c, q, append(rrs, f.soa())...)
		return true
	})
	c := fakeCollector(t, f)
	snaps, err := c.Collect(context.Background())
	if err != nil || !snaps[0].Complete || len(snaps[0].Objects) != 3 {
		t.Fatalf("first collect: %v %+v", err, snaps[0])
	}

	f.serial.Store(2)
	cut.Store(true)
	snaps, _ = c.Collect(context.Background())
	if snaps[0].Complete || len(snaps[0].Objects) != 0 {
		t.Fatalf("cut transfer claimed: %+v", snaps[0])
	}
	if f.queries(dns.TypeIXFR) != 1 || f.queries(dns.TypeAXFR) != 2 {
		t.Errorf("IXFR %d AXFR %d: want IXFR tried, then AXFR", f.queries(dns.TypeIXFR), f.queries(dns.TypeAXFR))
	}

	f.serial.Store(1) // back to the cached serial: no transfer at all
	snaps, err = c.Collect(context.Background())
	if err != nil || !snaps[0].Complete || len(snaps[0].Objects) != 3 {
		t.Fatalf("cached collect: %v %+v", err, snaps[0])
	}
	if f.queries(dns.TypeAXFR) != 2 {
		t.Error("transferred although the serial was the cached one")
	}

	f.serial.Store(3)
	cut.Store(false)
	snaps, err = c.Collect(context.Background())
	if err != nil || !snaps[0].Complete || len(snaps[0].Objects) != 5 {
		t.Fatalf("AXFR after IXFR NOTIMP: %v %+v", err, snaps[0])
	}
	if st := c.Stats(); st.AXFR != 2 || st.IXFR != 0 || st.Unchanged != 1 || st.Failed != 1 {
		t.Errorf("stats %+v", st)
	}
}

// A zone whose serial went back (restored from a backup) is read whole:
// the IXFR answer "nothing newer than yours" must not keep the old copy.
func TestCollectSerialWentBack(t *testing.T) {
	f := startFake(t, func(f *fakeServer, c *dns.Conn, q *dns.Msg) bool {
		if q.Question[0].Qtype == dns.TypeIXFR {
			reply(c, q, f.soa()) // RFC 1995: the client is up to date
			return true
		}
		reply(c, q, append(append([]dns.RR{f.soa()}, fakeRecords(t, int(f.serial.Load()))...), f.soa())...)
		return true
	})
	f.serial.Store(5)
	c := fakeCollector(t, f)
	if snaps, err := c.Collect(context.Background()); err != nil || len(snaps[0].Objects) != 6 {
		t.Fatalf("first collect: %v", err)
	}
	f.serial.Store(2)
	snaps, err := c.Collect(context.Background())
	if err != nil || !snaps[0].Complete || len(snaps[0].Objects) != 3 {
		t.Fatalf("after the serial went back: %v, %d objects", err, len(snaps[0].Objects))
	}
	if got := snaps[0].Objects[0].Attrs["serial"]; got != int64(2) {
		t.Errorf("serial %v", got)
	}
	if f.queries(dns.TypeIXFR) != 1 || f.queries(dns.TypeAXFR) != 2 {
		t.Errorf("IXFR %d AXFR %d", f.queries(dns.TypeIXFR), f.queries(dns.TypeAXFR))
	}
}

// An IXFR history that does not apply is replaced by a full transfer.
func TestCollectBadIXFRFallsBackToAXFR(t *testing.T) {
	f := startFake(t, func(f *fakeServer, c *dns.Conn, q *dns.Msg) bool {
		if q.Question[0].Qtype == dns.TypeIXFR {
			// Deletes a record the client never had.
			old := q.Ns[0].(*dns.SOA)
			reply(c, q, f.soa(), old, mustRR(t, "ghost.example.com. 60 IN A 192.0.2.99"), f.soa(), f.soa())
			return true
		}
		reply(c, q, append(append([]dns.RR{f.soa()}, fakeRecords(t, int(f.serial.Load()))...), f.soa())...)
		return true
	})
	c := fakeCollector(t, f)
	if _, err := c.Collect(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.serial.Store(4)
	snaps, err := c.Collect(context.Background())
	if err != nil || !snaps[0].Complete || len(snaps[0].Objects) != 5 {
		t.Fatalf("got %v, %d objects", err, len(snaps[0].Objects))
	}
	if st := c.Stats(); st.AXFR != 2 || st.IXFR != 0 {
		t.Errorf("stats %+v", st)
	}
}
