package dnstest

import (
	"net"
	"strconv"
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

// A port taken by someone else makes the harness move on, not hang.
func TestStartBINDPortTaken(t *testing.T) {
	first := StartBIND(t, Options{})
	s := &Server{KeyName: "tana-key.", KeyAlgorithm: KeyAlgorithm, KeySecret: first.KeySecret, Dir: t.TempDir(), Zones: first.Zones}
	opts := Options{Zones: []Zone{{Name: "example.com.", Data: ExampleZone}}, StartTimeout: 10 * time.Second}
	_, port, _ := net.SplitHostPort(first.Addr)
	p, _ := strconv.Atoi(port)
	start := time.Now()
	err := s.startOn(p, opts)
	if err == nil {
		log := s.Log()
		s.Stop()
		t.Fatalf("second named on a taken port reported ready; log:\n%s", log)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v to notice the taken port", d)
	}
}
