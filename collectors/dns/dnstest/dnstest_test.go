package dnstest

import (
	"testing"
	"time"

	"github.com/miekg/dns"
)

func TestStartBIND(t *testing.T) {
	start := time.Now()
	s := StartBIND(t, Options{})
	t.Logf("named up in %v at %s", time.Since(start), s.Addr)
	s.NSUpdate(t, "update add new.example.com. 60 IN A 192.0.2.99\nsend")
	m := new(dns.Msg)
	m.SetQuestion("new.example.com.", dns.TypeA)
	r, err := dns.Exchange(m, s.Addr)
	if err != nil || len(r.Answer) != 1 {
		t.Fatalf("query after nsupdate: %v %v", r, err)
	}
}
