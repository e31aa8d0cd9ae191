package demo_test

import (
	"context"
	"testing"
	"time"

	"github.com/tana-cmdb/tana/collectors/dns"
	"github.com/tana-cmdb/tana/collectors/vsphere"
	"github.com/tana-cmdb/tana/demo"
)

// The lab is collectable by tana's real collectors over loopback.
func TestLabCollects(t *testing.T) {
	ctx := context.Background()
	env, err := demo.Start(ctx, 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	vc, err := vsphere.New(vsphere.Config{Name: "vc1", URL: env.VC.URL, Username: env.VC.User, Password: env.VC.Pass, CAFile: env.VC.CAFile, Timeout: 10 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	snaps, err := vc.Collect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	vms := map[string]map[string]any{}
	for _, o := range snaps[0].Objects {
		if o.Type == "vm" {
			vms[o.Name] = o.Attrs
		}
	}
	if len(vms) != 12 || vms["web01"]["ip"] != "192.0.2.10" || vms["db04"] == nil {
		t.Fatalf("vms: %d, web01 %v", len(vms), vms["web01"])
	}
	col, err := dns.New(dns.Config{Name: "dns1", Server: env.DNS.Addr, Zones: []string{demo.Zone, demo.ReverseZone},
		TSIG: &dns.TSIG{Name: demo.KeyName, Secret: env.Secret}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	dsnaps, err := col.Collect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(dsnaps) != 2 || !dsnaps[0].Complete || len(dsnaps[0].Objects) < 13 {
		t.Fatalf("dns: %+v", dsnaps)
	}
}
