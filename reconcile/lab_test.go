package reconcile_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vmware/govmomi/object"

	"github.com/tana-cmdb/tana/collectors"
	"github.com/tana-cmdb/tana/collectors/dns"
	"github.com/tana-cmdb/tana/collectors/dns/dnstest"
	"github.com/tana-cmdb/tana/collectors/vsphere"
	"github.com/tana-cmdb/tana/demo"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/reconcile"
)

// The lab's zones: VMs are named in labZone, their addresses in labRev.
const (
	labZone = "example.test."
	labRev  = "2.0.192.in-addr.arpa."
)

// labVM is one simulated VM: its name, guest IP and guest host name.
type labVM struct{ name, ip, host string }

// lab is the real peers the drift scenarios run against: a govmomi vCenter
// simulator (through its SOAP API) and a real named serving labZone and
// labRev, with the collectors and fixers of both, and a store.
type lab struct {
	t      *testing.T
	s      *inventory.Store
	vc     *demo.VCenter
	bind   *dnstest.Server
	vcCol  *vsphere.Collector
	dnsCol *dns.Collector
	fixers []collectors.Fixer
	vms    map[string]*object.VirtualMachine
	// cut, when set, makes the vCenter connection die at the next
	// property retrieval (see dyingProxy).
	cut *atomic.Bool
}

// newLab starts the simulator with the VMs and named with the zones'
// records (zone-file lines relative to each zone: "web01 IN A 192.0.2.11"
// in fwd, "11 IN PTR web01.example.test." in rev).
func newLab(t *testing.T, s *inventory.Store, vms []labVM, fwd, rev string) *lab {
	t.Helper()
	ctx := context.Background()
	vc, err := demo.StartVCenter(ctx, 1, 1, len(vms))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(vc.Close)
	l := &lab{t: t, s: s, vc: vc, vms: map[string]*object.VirtualMachine{}}
	objs, err := vc.VMs(ctx)
	if err != nil || len(objs) < len(vms) {
		t.Fatalf("simulator VMs: %d, %v", len(objs), err)
	}
	for i, v := range vms {
		if err := vc.Setup(ctx, objs[i], v.name, v.ip, v.host); err != nil {
			t.Fatal(err)
		}
		l.vms[v.name] = objs[i]
	}
	proxy, ca, cut := dyingProxy(t, vc.URL)
	l.cut = cut
	vcfg := vsphere.Config{Name: "vc1", URL: proxy, Username: vc.User, Password: vc.Pass, CAFile: ca, Timeout: 10 * time.Second}
	if l.vcCol, err = vsphere.New(vcfg, nil); err != nil {
		t.Fatal(err)
	}
	vfix, err := vsphere.NewFixer(vcfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	l.bind = dnstest.StartBIND(t, dnstest.Options{Zones: labZones(fwd, rev)})
	dcfg := l.dnsConfig(l.bind, labZone, labRev)
	if l.dnsCol, err = dns.New(dcfg, nil); err != nil {
		t.Fatal(err)
	}
	dfix, err := dns.NewFixer(dcfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	l.fixers = []collectors.Fixer{vfix, dfix}
	return l
}

// labZones are the zone files of the lab's named.
func labZones(fwd, rev string) []dnstest.Zone {
	head := func(origin string) string {
		return "$ORIGIN " + origin + "\n$TTL 3600\n" +
			"@ IN SOA ns1.example.test. hostmaster.example.test. 1 3600 600 604800 300\n" +
			"@ IN NS ns1.example.test.\n"
	}
	return []dnstest.Zone{
		{Name: labZone, Data: head(labZone) + "ns1 IN A 192.0.2.1\n" + fwd + "\n"},
		{Name: labRev, Data: head(labRev) + rev + "\n"},
	}
}

func (l *lab) dnsConfig(srv *dnstest.Server, zones ...string) dns.Config {
	return dns.Config{Name: "dns1", Server: srv.Addr, Zones: zones, Timeout: 5 * time.Second,
		TSIG: &dns.TSIG{Name: srv.KeyName, Algorithm: srv.KeyAlgorithm, Secret: srv.KeySecret}}
}

// engine returns an engine over the lab's store with its fixers.
func (l *lab) engine(o reconcile.Options) *reconcile.Engine {
	o.Fixers = l.fixers
	return reconcile.New(l.s, o)
}

// collect collects vCenter and DNS (in that order) and fails the test on
// an error.
func (l *lab) collect(e *reconcile.Engine) []reconcile.RunSummary {
	l.t.Helper()
	var out []reconcile.RunSummary
	for _, c := range []collectors.Collector{l.vcCol, l.dnsCol} {
		sums, err := e.Collect(context.Background(), c)
		if err != nil {
			l.t.Fatalf("collect %s: %v", c.Name(), err)
		}
		out = append(out, sums...)
	}
	return out
}

// nsupdate changes the lab's zones behind tana's back.
func (l *lab) nsupdate(script string) { l.bind.NSUpdate(l.t, script) }

// dyingProxy serves HTTPS in front of the simulator at target and passes
// every SOAP call through, until cut is set: then a call that retrieves
// properties gets its connection closed mid-request, as when a vCenter
// dies during a collection. It returns the proxy's SDK URL and a CA file
// for its certificate.
func dyingProxy(t *testing.T, target string) (string, string, *atomic.Bool) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: u.Scheme, Host: u.Host})
	rp.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} // loopback to the simulator
	rp.ErrorLog = nil
	cut := &atomic.Bool{}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		if cut.Load() && bytes.Contains(body, []byte("RetrieveProperties")) {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				_ = conn.Close() // cutting the connection is the point
			}
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "proxy.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(ca, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return srv.URL + u.Path, ca, cut
}

// drift returns the open drift as strings, for messages.
func driftStrings(t *testing.T, e *reconcile.Engine, f reconcile.Filter) []string {
	t.Helper()
	items, err := e.Drift(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(items))
	for i := range items {
		out[i] = items[i].String()
	}
	return out
}

// planLines returns a plan's actionable fixes as strings.
func planLines(p *reconcile.Plan) []string {
	var out []string
	for i := range p.Fixes {
		if p.Fixes[i].Direction != reconcile.NoFix {
			out = append(out, p.Fixes[i].String())
		}
	}
	return out
}

// anyContains reports whether any of lines contains every one of subs.
func anyContains(lines []string, subs ...string) bool {
	for _, l := range lines {
		ok := true
		for _, s := range subs {
			ok = ok && strings.Contains(l, s)
		}
		if ok {
			return true
		}
	}
	return false
}
