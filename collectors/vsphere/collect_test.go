package vsphere

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tana-cmdb/tana/collectors"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vapi/rest"
	"github.com/vmware/govmomi/vapi/tags"
	"github.com/vmware/govmomi/vim25/types"
)

// prepare gives DC0_H0_VM0 everything a VM can report: guest IP and name,
// notes, owner/role custom values, a tag, a folder, a resize.
func prepare(t *testing.T, s *sim) (vm *object.VirtualMachine) {
	t.Helper()
	ctx := context.Background()
	c := s.client(t)
	f := find.NewFinder(c.Client)
	dc, err := f.DefaultDatacenter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.SetDatacenter(dc)
	vm, err = f.VirtualMachine(ctx, "DC0_H0_VM0")
	if err != nil {
		t.Fatal(err)
	}
	task, err := vm.Reconfigure(ctx, types.VirtualMachineConfigSpec{
		NumCPUs: 4, MemoryMB: 2048, Annotation: "web frontend",
		ExtraConfig: []types.BaseOptionValue{
			&types.OptionValue{Key: "SET.guest.ipAddress", Value: "10.0.0.42"},
			&types.OptionValue{Key: "SET.guest.hostName", Value: "web1.example.com"},
		},
	})
	must(t, err)
	must(t, task.Wait(ctx))

	cfm, err := object.GetCustomFieldsManager(c.Client)
	must(t, err)
	for name, val := range map[string]string{"owner": "alice", "role": "web", "unrelated": "x"} {
		def, err := cfm.Add(ctx, name, "VirtualMachine", nil, nil)
		must(t, err)
		must(t, cfm.Set(ctx, vm.Reference(), def.Key, val))
	}

	folders, err := dc.Folders(ctx)
	must(t, err)
	apps, err := folders.VmFolder.CreateFolder(ctx, "apps")
	must(t, err)
	task, err = apps.MoveInto(ctx, []types.ManagedObjectReference{vm.Reference()})
	must(t, err)
	must(t, task.Wait(ctx))

	cluster, err := f.ClusterComputeResource(ctx, "DC0_C0")
	must(t, err)
	task, err = cluster.Reconfigure(ctx, &types.ClusterConfigSpecEx{
		DasConfig: &types.ClusterDasConfigInfo{Enabled: types.NewBool(true)},
		DrsConfig: &types.ClusterDrsConfigInfo{Enabled: types.NewBool(false)},
	}, true)
	must(t, err)
	must(t, task.Wait(ctx))

	attachTag(t, s, vm.Reference(), "env", "prod")
	return vm
}

// attachTag creates category and tag through the admin REST client.
func attachTag(t *testing.T, s *sim, ref types.ManagedObjectReference, cat, name string) {
	t.Helper()
	ctx := context.Background()
	rc := rest.NewClient(s.client(t).Client)
	must(t, rc.Login(ctx, s.srv.URL.User))
	m := tags.NewManager(rc)
	catID, err := m.CreateCategory(ctx, &tags.Category{Name: cat, Cardinality: "MULTIPLE", AssociableTypes: []string{"VirtualMachine"}})
	must(t, err)
	tagID, err := m.CreateTag(ctx, &tags.Tag{Name: name, CategoryID: catID})
	must(t, err)
	must(t, m.AttachTag(ctx, tagID, ref))
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func collectOne(t testing.TB, c *Collector) *collectors.Snapshot {
	t.Helper()
	snaps, err := c.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) != 1 {
		t.Fatalf("got %d snapshots, want 1", len(snaps))
	}
	return snaps[0]
}

func byName(snap *collectors.Snapshot, typ, name string) (collectors.Object, bool) {
	for _, o := range snap.Objects {
		if o.Type == typ && o.Name == name {
			return o, true
		}
	}
	return collectors.Object{}, false
}

func mustObject(t *testing.T, snap *collectors.Snapshot, typ, name string) collectors.Object {
	t.Helper()
	o, ok := byName(snap, typ, name)
	if !ok {
		t.Fatalf("no %s %q in snapshot", typ, name)
	}
	return o
}

func ref(typ, id string) collectors.Ref { return collectors.Ref{Type: typ, ID: id} }

func TestCollectMapsEveryField(t *testing.T) {
	s := newSim(t, 1)
	vmObj := prepare(t, s)
	snap := collectOne(t, newCollector(t, s.config(), nil))

	if !snap.Complete || len(snap.Errors) != 0 || snap.Source != "vc1" || snap.Kind != "vsphere" || snap.Scope != "vsphere:vc1" {
		t.Fatalf("snapshot header: %+v", snap)
	}
	if strings.Join(snap.Types, ",") != "datacenter,cluster,host,datastore,network,folder,vm" {
		t.Fatalf("types %v", snap.Types)
	}
	dc := mustObject(t, snap, "datacenter", "DC0")
	cl := mustObject(t, snap, "cluster", "DC0_C0")
	host := mustObject(t, snap, "host", "DC0_H0")
	ds := mustObject(t, snap, "datastore", "LocalDS_0")
	pg := mustObject(t, snap, "network", "DC0_DVPG0")
	apps := mustObject(t, snap, "folder", "apps")
	dcRef := ref("datacenter", dc.ID)

	vm := mustObject(t, snap, "vm", "DC0_H0_VM0")
	a := vm.Attrs
	want := map[string]any{
		"moref": vmObj.Reference().Value, "vcenter": "vc1", "power_state": "poweredOn", "template": false,
		"guest_hostname": "web1.example.com", "guest_os": "otherGuest", "ip": "10.0.0.42",
		"cpus": int64(4), "memory_mb": int64(2048), "disk_gb": float64(10), "disks": []any{"disk-202-0:10"},
		"folder": "/DC0/vm/apps", "resource_pool": "Resources", "host": ref("host", host.ID),
		"datacenter": dcRef, "datastores": []any{ref("datastore", ds.ID)}, "networks": []any{ref("network", pg.ID)},
		"annotation": "web frontend", "owner": "alice", "role": "web", "tags": []any{"env:prod"},
	}
	for k, v := range want {
		assertAttr(t, vm, k, v)
	}
	if vm.ID != a["instance_uuid"] || !isUUID(vm.ID) || !isUUID(a["bios_uuid"]) || vm.ID == a["bios_uuid"] {
		t.Errorf("uuids: id %q instance %v bios %v", vm.ID, a["instance_uuid"], a["bios_uuid"])
	}
	if ips, _ := a["ips"].([]any); len(ips) == 0 || ips[0] != "10.0.0.42" {
		t.Errorf("ips = %#v", a["ips"])
	}
	if macs, _ := a["macs"].([]any); len(macs) != 1 || !isMAC(macs[0]) {
		t.Errorf("macs = %#v", a["macs"])
	}
	if _, ok := a["cluster"]; ok {
		t.Errorf("standalone host VM has a cluster: %v", a["cluster"])
	}

	// A VM without tools data, notes, custom values or tags reports none of them.
	bare := mustObject(t, snap, "vm", "DC0_C0_RP0_VM0")
	for _, k := range []string{"ip", "ips", "guest_hostname", "annotation", "owner", "role", "tags"} {
		if v, ok := bare.Attrs[k]; ok {
			t.Errorf("bare vm has %s = %#v, want absent", k, v)
		}
	}
	assertAttr(t, bare, "cluster", ref("cluster", cl.ID))
	assertAttr(t, bare, "folder", "/DC0/vm")
	for _, o := range snap.Objects {
		for k, v := range o.Attrs {
			if v == nil || v == "" {
				t.Errorf("%s %s: %s is %#v", o.Type, o.Name, k, v)
			}
			if l, ok := v.([]any); ok && len(l) == 0 {
				t.Errorf("%s %s: %s is an empty list", o.Type, o.Name, k)
			}
		}
	}

	// Infrastructure.
	assertAttrs(t, dc, map[string]any{"moref": dc.ID, "vcenter": "vc1"})
	assertAttrs(t, cl, map[string]any{"moref": cl.ID, "vcenter": "vc1", "datacenter": dcRef,
		"cpu_cores": int64(6), "memory_mb": int64(12286), "ha_enabled": true, "drs_enabled": false})
	assertAttrs(t, host, map[string]any{"moref": host.ID, "vcenter": "vc1", "datacenter": dcRef,
		"cpu_cores": int64(2), "memory_mb": int64(4095), "connection_state": "connected",
		"power_state": "poweredOn", "version": "8.0.2", "ip": "127.0.0.1"})
	if !isUUID(host.Attrs["hardware_uuid"]) {
		t.Errorf("host hardware_uuid %v", host.Attrs["hardware_uuid"])
	}
	assertAttr(t, mustObject(t, snap, "host", "DC0_C0_H0"), "cluster", ref("cluster", cl.ID))
	assertAttrs(t, ds, map[string]any{"moref": ds.ID, "vcenter": "vc1", "datacenter": dcRef, "kind": "OTHER",
		"capacity_gb": float64(4096)})
	if u, _ := ds.Attrs["url"].(string); u == "" {
		t.Errorf("datastore url %v", ds.Attrs["url"])
	}
	if f, _ := ds.Attrs["free_gb"].(float64); f <= 0 || f > 4096 {
		t.Errorf("datastore free_gb %v", ds.Attrs["free_gb"])
	}
	assertAttrs(t, pg, map[string]any{"moref": pg.ID, "datacenter": dcRef, "kind": "distributed"})
	assertAttrs(t, mustObject(t, snap, "network", "VM Network"), map[string]any{"kind": "standard", "vlan": int64(0), "datacenter": dcRef})
	assertAttrs(t, apps, map[string]any{"moref": apps.ID, "path": "/DC0/vm/apps", "datacenter": dcRef})

	// Every ref points at an object of the snapshot.
	ids := map[collectors.Ref]bool{}
	for _, o := range snap.Objects {
		ids[ref(o.Type, o.ID)] = true
	}
	for _, o := range snap.Objects {
		for k, v := range o.Attrs {
			refs := []any{v}
			if l, ok := v.([]any); ok {
				refs = l
			}
			for _, r := range refs {
				if r, ok := r.(collectors.Ref); ok && !ids[r] {
					t.Errorf("%s %s: %s points at missing %v", o.Type, o.Name, k, r)
				}
			}
		}
	}
}

func assertAttrs(t *testing.T, o collectors.Object, want map[string]any) {
	t.Helper()
	for k, v := range want {
		assertAttr(t, o, k, v)
	}
}

func assertAttr(t *testing.T, o collectors.Object, k string, want any) {
	t.Helper()
	got, ok := o.Attrs[k]
	if !ok {
		t.Errorf("%s %s: %s absent, want %#v", o.Type, o.Name, k, want)
		return
	}
	if !equalValue(got, want) {
		t.Errorf("%s %s: %s = %#v, want %#v", o.Type, o.Name, k, got, want)
	}
}

func equalValue(a, b any) bool {
	la, ok1 := a.([]any)
	lb, ok2 := b.([]any)
	if ok1 != ok2 {
		return false
	}
	if !ok1 {
		return a == b
	}
	if len(la) != len(lb) {
		return false
	}
	for i := range la {
		if la[i] != lb[i] {
			return false
		}
	}
	return true
}

func isUUID(v any) bool {
	s, _ := v.(string)
	return len(s) == 36 && strings.Count(s, "-") == 4 && s == strings.ToLower(s)
}

func isMAC(v any) bool {
	s, _ := v.(string)
	return len(s) == 17 && strings.Count(s, ":") == 5 && s == strings.ToLower(s)
}

func TestCollectRoundTripsIndependentOfVMCount(t *testing.T) {
	counts := map[int]int64{}
	for _, perPool := range []int{10, 100} {
		s := newSim(t, perPool)
		var cnt counter
		c := newCollector(t, s.config(), &cnt)
		collectOne(t, c) // log in (SOAP and REST) first
		before := cnt.n.Load()
		snap := collectOne(t, c)
		n := cnt.n.Load() - before
		vms := 0
		for _, o := range snap.Objects {
			if o.Type == "vm" {
				vms++
			}
		}
		if vms != 2*perPool || !snap.Complete {
			t.Fatalf("got %d vms (complete %v), want %d", vms, snap.Complete, 2*perPool)
		}
		t.Logf("%d VMs: %d round trips per collection", vms, n)
		counts[vms] = n
	}
	if counts[20] != counts[200] || counts[20] > 5 {
		t.Fatalf("round trips per collection: %v; want the same small number for 20 and 200 VMs", counts)
	}
}

func TestCollectServerStopped(t *testing.T) {
	s := newSim(t, 1)
	c := newCollector(t, s.config(), nil)
	collectOne(t, c)
	s.srv.Close()
	snap := collectOne(t, c)
	if snap.Complete || len(snap.Errors) == 0 {
		t.Fatalf("stopped server: complete=%v errors=%v", snap.Complete, snap.Errors)
	}
	t.Logf("error: %s", snap.Errors[0])
}

func TestCollectTimeoutMidCollection(t *testing.T) {
	s := newSim(t, 1)
	cfg := s.config()
	cfg.Timeout = 500 * time.Millisecond
	c := newCollector(t, cfg, nil)
	collectOne(t, c)
	s.model.DelayConfig.MethodDelay = map[string]int{"RetrievePropertiesEx": 1500}
	snap := collectOne(t, c)
	if snap.Complete || len(snap.Errors) == 0 || !strings.Contains(snap.Errors[0], "retrieve") {
		t.Fatalf("timeout: complete=%v errors=%v", snap.Complete, snap.Errors)
	}
	t.Logf("error: %s", snap.Errors[0])
}

func TestCollectRelogsInAfterSessionLoss(t *testing.T) {
	s := newSim(t, 1)
	c := newCollector(t, s.config(), nil)
	collectOne(t, c)
	// Terminate our session from another client, as an expiry would.
	ctx := context.Background()
	cn, err := c.session(ctx)
	must(t, err)
	us, err := session.NewManager(cn.vim).UserSession(ctx)
	must(t, err)
	must(t, s.client(t).SessionManager.TerminateSession(ctx, []string{us.Key}))
	if us, _ := session.NewManager(cn.vim).UserSession(ctx); us != nil {
		t.Fatal("session still alive after TerminateSession")
	}
	snap := collectOne(t, c)
	if !snap.Complete {
		t.Fatalf("after session loss: %v", snap.Errors)
	}
}

func TestConnectErrors(t *testing.T) {
	s := newSim(t, 1)
	good := s.config()
	stopped := newSim(t, 1)
	deadURL := stopped.url()
	stopped.srv.Close()

	cases := []struct {
		name   string
		mod    func(*Config)
		is     error
		substr string
	}{
		{"bad password", func(c *Config) { c.Password = "wrong" }, ErrLogin, "vsphere vc1: login: incorrect user name or password"},
		{"unreachable", func(c *Config) { c.URL = deadURL }, ErrConnect, "connection refused"},
		{"untrusted certificate", func(c *Config) { c.CAFile = "" }, ErrTLS, "vsphere vc1: TLS: certificate not trusted (thumbprint "},
		{"wrong thumbprint", func(c *Config) {
			c.CAFile = ""
			c.Thumbprint = "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD"
		}, ErrTLS, "thumbprint does not match"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			tc.mod(&cfg)
			c := newCollector(t, cfg, nil)
			_, err := c.Collect(context.Background())
			if err == nil || !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.substr) {
				t.Fatalf("err = %v; want %v containing %q", err, tc.is, tc.substr)
			}
			t.Log(err)
		})
	}

	t.Run("thumbprint pinned", func(t *testing.T) {
		cfg := good
		cfg.CAFile = ""
		cfg.Thumbprint = s.srv.CertificateInfo().ThumbprintSHA1
		collectOne(t, newCollector(t, cfg, nil))
	})
	t.Run("thumbprint pinned, lower case without colons", func(t *testing.T) {
		cfg := good
		cfg.CAFile = ""
		cfg.Thumbprint = strings.ToLower(strings.ReplaceAll(s.srv.CertificateInfo().ThumbprintSHA256, ":", ""))
		collectOne(t, newCollector(t, cfg, nil))
	})
	t.Run("insecure", func(t *testing.T) {
		cfg := good
		cfg.CAFile = ""
		cfg.Insecure = true
		collectOne(t, newCollector(t, cfg, nil))
	})
}

func TestCollectStandaloneESXi(t *testing.T) {
	m := simulator.ESX()
	must(t, m.Create())
	m.Service.TLS = new(tls.Config)
	srv := m.Service.NewServer()
	t.Cleanup(func() { srv.Close(); m.Remove() })
	u := *srv.URL
	u.User = nil
	c := newCollector(t, Config{Name: "esx1", URL: u.String(), Username: "root", Password: "x", Insecure: true}, nil)
	snap := collectOne(t, c)
	if !snap.Complete || snap.Scope != "vsphere:esx1" {
		t.Fatalf("esxi snapshot: complete=%v errors=%v", snap.Complete, snap.Errors)
	}
	vm := mustObject(t, snap, "vm", "ha-host_VM0")
	if h, ok := vm.Attrs["host"].(collectors.Ref); !ok || h.Type != "host" {
		t.Errorf("esxi vm host = %#v", vm.Attrs["host"])
	}
	mustObject(t, snap, "datacenter", "ha-datacenter")
}
