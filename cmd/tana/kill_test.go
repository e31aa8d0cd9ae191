package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/tana-cmdb/tana/inventory/inventorytest"
)

// testDNS serves one zone over AXFR, each transfer after axfrDelay, and
// never answers an UPDATE: an apply that sends one hangs there, as it
// would on a stuck server.
type testDNS struct {
	addr    string
	updates chan struct{}
}

func startTestDNS(t *testing.T, zone string, axfrDelay time.Duration) *testDNS {
	t.Helper()
	h := &testDNS{updates: make(chan struct{}, 16)}
	done := make(chan struct{})
	soa, _ := dns.NewRR(zone + " 3600 IN SOA ns1." + zone + " hostmaster." + zone + " 1 3600 600 604800 300")
	ns, _ := dns.NewRR(zone + " 3600 IN NS ns1." + zone)
	a, _ := dns.NewRR("ns1." + zone + " 3600 IN A 192.0.2.1")
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		switch {
		case r.Opcode == dns.OpcodeUpdate:
			h.updates <- struct{}{}
			<-done // never answered
			return
		case len(r.Question) == 1 && r.Question[0].Qtype == dns.TypeAXFR:
			select {
			case <-time.After(axfrDelay):
			case <-done:
			}
			ch := make(chan *dns.Envelope, 1)
			ch <- &dns.Envelope{RR: []dns.RR{soa, ns, a, soa}}
			close(ch)
			m.SetReply(r)
			_ = new(dns.Transfer).Out(w, r, ch)
			return
		case len(r.Question) == 1 && r.Question[0].Qtype == dns.TypeSOA:
			m.SetReply(r)
			m.Authoritative = true
			m.Answer = []dns.RR{soa}
		default:
			m.SetRcode(r, dns.RcodeNotImplemented)
		}
		_ = w.WriteMsg(m)
	})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	accept := func(dns.Header) dns.MsgAcceptAction { return dns.MsgAccept } // UPDATE too
	udp := &dns.Server{PacketConn: pc, Handler: handler, MsgAcceptFunc: accept}
	tcp := &dns.Server{Listener: l, Handler: handler, MsgAcceptFunc: accept}
	served := make(chan error, 2)
	go func() { served <- udp.ActivateAndServe() }()
	go func() { served <- tcp.ActivateAndServe() }()
	t.Cleanup(func() {
		close(done)
		if err := errors.Join(udp.Shutdown(), tcp.Shutdown(), <-served, <-served); err != nil {
			t.Errorf("fake DNS server: %v", err)
		}
	})
	h.addr = pc.LocalAddr().String()
	return h
}

// TestKilledApplyFreesItsScopes kills a real tana apply with SIGKILL while
// its DNS update hangs. Its scope is usable again at once (a dead process
// on the same host is told without waiting for its lease), and the apply's
// run and its plan read interrupted.
func TestKilledApplyFreesItsScopes(t *testing.T) {
	const lease = 2 * time.Second
	for _, d := range inventorytest.Dialects {
		t.Run(d, func(t *testing.T) {
			srv := startTestDNS(t, "example.com.", 0)
			db := inventorytest.DSN(t, d)
			dir := t.TempDir()
			cfg := filepath.Join(dir, "tana.yaml")
			if err := os.WriteFile(cfg, []byte(fmt.Sprintf("lease: %s\nsources:\n  - {name: dns1, type: dns, server: %q, zones: [example.com.], timeout: 60s}\n",
				lease, srv.addr)), 0o600); err != nil {
				t.Fatal(err)
			}
			items := filepath.Join(dir, "vms.yaml")
			if err := os.WriteFile(items, []byte("- {type: vm, name: web1, attrs: {ip: 192.0.2.50, dns_name: web1.example.com.}}\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			env := map[string]string{"TANA_DB": db, "TANA_CONFIG": cfg}
			tana(t, env, 0, "import", items)
			tana(t, env, 0, "collect")
			var plan struct{ ID string }
			if err := json.Unmarshal([]byte(tana(t, env, 0, "plan", "--json")), &plan); err != nil {
				t.Fatal(err)
			}

			apply := exec.Command(tanaBin, "apply", plan.ID, "--auto-approve")
			apply.Env = envList(env)
			if err := apply.Start(); err != nil {
				t.Fatal(err)
			}
			select {
			case <-srv.updates: // it holds its scopes and waits on DNS
			case <-time.After(30 * time.Second):
				_ = apply.Process.Kill() // the test fails anyway
				t.Fatal("the apply never sent its update")
			}
			if err := apply.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			_ = apply.Wait() // "signal: killed"
			killed := time.Now()

			// On the same host a dead holder is told at once: the scope is
			// free for the next run, without waiting for the lease.
			if _, errOut, code := runEnv(t, env, "collect"); code != 0 {
				t.Fatalf("collect right after the kill: exit %d, %s", code, errOut)
			}
			t.Logf("scope free %s after the kill (lease %s)", time.Since(killed).Round(time.Millisecond), lease)
			var runs []struct{ Kind, Source, Status string }
			if err := json.Unmarshal([]byte(tana(t, env, 0, "runs", "--kind", "apply", "--json")), &runs); err != nil {
				t.Fatal(err)
			}
			if len(runs) != 1 || runs[0].Status != "interrupted" || runs[0].Source != "plan:"+plan.ID {
				t.Fatalf("apply runs: %+v", runs)
			}
			var plans []struct{ ID, Status string }
			if err := json.Unmarshal([]byte(tana(t, env, 0, "plans", "--json")), &plans); err != nil {
				t.Fatal(err)
			}
			if len(plans) == 0 || plans[0].ID != plan.ID || plans[0].Status != "interrupted" {
				t.Fatalf("plans: %+v", plans)
			}
		})
	}
}

// runEnv runs the binary with env and returns stdout, stderr and the exit
// code.
func runEnv(t *testing.T, env map[string]string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(tanaBin, args...)
	cmd.Env = envList(env)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}
