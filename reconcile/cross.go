package reconcile

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/tana-cmdb/tana/collectors"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// defaultTTL is the TTL of records a plan creates for a VM's dns_name.
const defaultTTL = int64(3600)

// CrossCheck compares sources with each other in the store and keeps the
// result as the open drift of scope "cross": a VM's IP against the A
// record of its declared dns_name, a missing A or PTR record (with a fix
// that creates it), an A record in a VM zone pointing at no VM, a PTR
// without an A record, and two VMs declaring one name.
func (e *Engine) CrossCheck(ctx context.Context) error {
	items, err := e.crossItems(ctx)
	if err != nil {
		return err
	}
	return e.store.InTx(ctx, func(tx *inventory.Tx) error { return syncDrift(ctx, tx, CrossScope, items) })
}

type dnsView struct {
	zones []string                      // zone names, longest first
	a     map[string][]*inventory.Entry // fqdn → A/AAAA records
	ptr   map[string][]*inventory.Entry // reverse name → PTR records
	all   []*inventory.Entry
	// targets are names other records point at (NS, MX, SRV, CNAME): their
	// A records serve the zone itself and are never orphans.
	targets map[string]bool
}

func (e *Engine) loadDNS(ctx context.Context) (*dnsView, error) {
	d := &dnsView{a: map[string][]*inventory.Entry{}, ptr: map[string][]*inventory.Entry{}, targets: map[string]bool{}}
	err := e.store.Each(ctx, "dns_zone", func(en *inventory.Entry) error {
		if z, ok := en.Attrs["zone"].(string); ok {
			d.zones = append(d.zones, z)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(d.zones, func(i, j int) bool { return len(d.zones[i]) > len(d.zones[j]) })
	err = e.store.Each(ctx, "dns_record", func(en *inventory.Entry) error {
		fqdn, _ := en.Attrs["fqdn"].(string)
		switch en.Attrs["rtype"] {
		case "A", "AAAA":
			d.a[fqdn] = append(d.a[fqdn], en)
			d.all = append(d.all, en)
		case "PTR":
			d.ptr[fqdn] = append(d.ptr[fqdn], en)
			d.all = append(d.all, en)
		case "NS", "MX", "SRV", "CNAME":
			// The target is the last field: "10 mail.example.com.".
			if f := strings.Fields(fmt.Sprint(en.Attrs["value"])); len(f) > 0 {
				d.targets[strings.ToLower(f[len(f)-1])] = true
			}
		}
		return nil
	})
	return d, err
}

// zoneOf returns the longest known zone that contains name.
func (d *dnsView) zoneOf(name string) string {
	for _, z := range d.zones {
		if name == z || strings.HasSuffix(name, "."+z) {
			return z
		}
	}
	return ""
}

func (e *Engine) crossItems(ctx context.Context) ([]Item, error) {
	if _, err := e.reg.Type("vm"); err != nil {
		return nil, nil
	}
	if _, err := e.reg.Type("dns_record"); err != nil {
		return nil, nil
	}
	d, err := e.loadDNS(ctx)
	if err != nil {
		return nil, err
	}
	if len(d.zones) == 0 {
		return nil, nil // no DNS collected: nothing to compare with
	}
	var out []Item
	vmIPs, names, vmZones := map[string]bool{}, map[string][]string{}, map[string]bool{}
	err = e.store.Each(ctx, "vm", func(vm *inventory.Entry) error {
		ip, _ := vm.Attrs["ip"].(string)
		if ip != "" {
			vmIPs[ip] = true
		}
		if l, ok := vm.Attrs["ips"].([]any); ok {
			for _, x := range l {
				vmIPs[fmt.Sprint(x)] = true
			}
		}
		name := expectedName(d, vm)
		if name == "" {
			return nil
		}
		names[name] = append(names[name], vm.Name)
		vmZones[d.zoneOf(name)] = true
		out = append(out, e.checkVM(d, vm, name, ip)...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, name := range sortedKeys(names) {
		if vms := names[name]; len(vms) > 1 {
			out = append(out, Item{Kind: Conflict, Type: "vm", Scope: CrossScope, ObjectID: "dns_name:" + name, EntryName: vms[0],
				Attr: "dns_name", Message: fmt.Sprintf("%d VMs declare dns_name %s (%s)", len(vms), name, strings.Join(vms, ", "))})
		}
	}
	out = append(out, orphans(d, vmIPs, names, vmZones)...)
	return out, nil
}

// expectedName is the DNS name a VM must have: its declared dns_name, or
// else the host name its guest reports when that is a name inside a
// collected zone (VMware Tools knows the OS's own FQDN).
func expectedName(d *dnsView, vm *inventory.Entry) string {
	if name, _ := vm.Attrs["dns_name"].(string); name != "" {
		return name
	}
	h, _ := vm.Attrs["guest_hostname"].(string)
	if !strings.Contains(strings.TrimSuffix(h, "."), ".") {
		return ""
	}
	name, err := schema.NormalizeFQDN(h)
	if err != nil || d.zoneOf(name) == "" {
		return ""
	}
	return name
}

// checkVM compares one VM with DNS: its A record and its PTR. Only names
// inside collected zones are checked: where tana has not read the zone,
// nothing is known about its records, and absence of data is not data.
func (e *Engine) checkVM(d *dnsView, vm *inventory.Entry, name, ip string) []Item {
	base := Item{Type: "vm", Scope: CrossScope, EntryID: vm.ID, EntryName: vm.Name, Version: vm.Version, Authority: schema.Declared}
	var out []Item
	as := d.a[name]
	zone := d.zoneOf(name)
	switch {
	case zone == "":
	case len(as) == 0:
		it := base
		it.Kind, it.Attr, it.Store = MissingInReality, "dns_name", name
		it.Message = fmt.Sprintf("no A record for %s", name)
		if ip != "" {
			it.Fix = &collectors.Fix{Scope: "dns:" + zone, Op: collectors.OpCreate, Object: recordObject(zone, name, rtypeOf(ip), ip)}
		}
		out = append(out, it)
	case ip != "" && !anyValue(as, ip):
		it := base
		it.Kind, it.Attr, it.Store, it.Actual = Conflict, "ip", ip, values(as)
		it.Message = fmt.Sprintf("VM IP %s but the A record of %s says %s", ip, name, strings.Join(values(as), ", "))
		if len(as) == 1 {
			old := entryObject(as[0])
			it.Fix = &collectors.Fix{Scope: "dns:" + zone, Op: collectors.OpUpdate, Object: old, Attr: "value", Old: old.Attrs["value"], New: ip}
		}
		out = append(out, it)
	}
	if ip == "" {
		return out
	}
	rev := reverseName(ip)
	if rz := d.zoneOf(rev); rev != "" && rz != "" && !anyValue(d.ptr[rev], name) {
		it := base
		it.Kind, it.Attr, it.Store = Conflict, "ip", ip
		it.Message = fmt.Sprintf("missing PTR %s → %s", rev, name)
		it.Fix = &collectors.Fix{Scope: "dns:" + rz, Op: collectors.OpCreate, Object: recordObject(rz, rev, "PTR", name)}
		out = append(out, it)
	}
	return out
}

// orphans finds A records in zones holding VM names that point at no VM,
// and PTR records whose name has no A record.
func orphans(d *dnsView, vmIPs map[string]bool, names map[string][]string, vmZones map[string]bool) []Item {
	// An A record serving the zone (a name server, a mail exchanger, a
	// CNAME or SRV target) points at no VM by design.
	var out []Item
	for _, r := range d.all {
		fqdn, _ := r.Attrs["fqdn"].(string)
		value, _ := r.Attrs["value"].(string)
		base := Item{Kind: Conflict, Type: "dns_record", Scope: CrossScope, EntryID: r.ID, EntryName: r.Name, Version: r.Version}
		switch r.Attrs["rtype"] {
		case "A", "AAAA":
			if !vmIPs[value] && names[fqdn] == nil && !d.targets[fqdn] && vmZones[d.zoneOf(fqdn)] {
				base.Message = fmt.Sprintf("orphan A record: %s → %s points at no VM", fqdn, value)
				base.Authority = schema.Declared
				old := entryObject(r)
				base.Fix = &collectors.Fix{Scope: "dns:" + d.zoneOf(fqdn), Op: collectors.OpDelete, Object: old}
				out = append(out, base)
			}
		case "PTR":
			if len(d.a[value]) == 0 && d.zoneOf(value) != "" {
				base.Message = fmt.Sprintf("PTR %s → %s without an A record", fqdn, value)
				out = append(out, base)
			}
		}
	}
	return out
}

func recordObject(zone, fqdn, rtype, value string) collectors.Object {
	id := fqdn + " " + rtype + " " + value
	return collectors.Object{Type: "dns_record", ID: id, Name: id, Attrs: map[string]any{
		"zone": zone, "fqdn": fqdn, "rtype": rtype, "value": value, "ttl": defaultTTL}}
}

func entryObject(en *inventory.Entry) collectors.Object {
	return collectors.Object{Type: en.Type, ID: en.Name, Name: en.Name, Attrs: en.Attrs}
}

func anyValue(rs []*inventory.Entry, v string) bool {
	for _, r := range rs {
		if r.Attrs["value"] == v {
			return true
		}
	}
	return false
}

func values(rs []*inventory.Entry) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, fmt.Sprint(r.Attrs["value"]))
	}
	return out
}

func rtypeOf(ip string) string {
	if a, err := netip.ParseAddr(ip); err == nil && a.Is6() {
		return "AAAA"
	}
	return "A"
}

// reverseName is the in-addr.arpa or ip6.arpa name of an address.
func reverseName(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ""
	}
	if a.Is4() {
		b := a.As4()
		return fmt.Sprintf("%d.%d.%d.%d.in-addr.arpa.", b[3], b[2], b[1], b[0])
	}
	b := a.As16()
	var sb strings.Builder
	for i := len(b) - 1; i >= 0; i-- {
		fmt.Fprintf(&sb, "%x.%x.", b[i]&0xf, b[i]>>4)
	}
	return sb.String() + "ip6.arpa."
}
