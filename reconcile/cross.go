package reconcile

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tana-cmdb/tana/collectors"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// defaultTTL is the TTL of records a plan creates for a VM's dns_name.
const defaultTTL = int64(3600)

// CrossCheck compares sources with each other in the store and keeps the
// result as the open drift of scope "cross": a VM's IP against the A
// record of its DNS name, a missing A or PTR record (with a fix that
// creates it), records in a VM zone that no VM explains (with a fix that
// removes them), a PTR without an A record, and ambiguous claims — two VMs
// claiming one name or one address — which get a conflict naming every
// candidate and no fix until a person settles them.
func (e *Engine) CrossCheck(ctx context.Context) error {
	run, err := e.begin(ctx, "cross-check", CrossScope, time.Time{})
	if err != nil {
		return err
	}
	defer e.guard(ctx, run)
	err = e.crossCheck(run.Context(), run)
	e.end(ctx, run, 0, 0, err, nil)
	return err
}

// crossCheck runs the cross-source rules under run, holding the cross
// scope's lock so that no apply of cross fixes checks or resolves the
// items meanwhile. Another check holds the lock for moments: wait for it.
// An apply may hold it for long: then the check is left to that apply,
// which checks again as it ends, and to the next plan and apply, which
// check before they trust the cross-source drift.
func (e *Engine) crossCheck(ctx context.Context, run *inventory.Run) error {
	if err := e.lockWaiting(ctx, run, "apply:"+CrossScope, e.opts.CrossWait); err != nil {
		if schema.ErrorCode(err) == schema.ELOCKED {
			e.log.Info("cross-source check left to the run holding it", "err", err)
			return nil
		}
		return err
	}
	items, err := e.crossItems(ctx)
	if err != nil {
		return err
	}
	return e.store.InTx(ctx, func(tx *inventory.Tx) error {
		return syncDrift(ctx, tx, CrossScope, items, inventory.Resolution{By: "cross-check"})
	})
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

// loadDNS reads the zones and the records DNS still reports: a stale
// record is one its zone no longer has, so it is not reality.
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
		if en.Status == inventory.StatusStale {
			return nil
		}
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

// claim is what one live VM asks of DNS: the name it must have and the
// address that name must point at.
type claim struct {
	vm       *inventory.Entry
	name     string // "" when it asks for no name (or lost it to an owner)
	declared bool   // the name is the VM's declared dns_name, not its guest's host name
	ip       string
	shared   bool // another live VM has the same address: whose it is, is unknown
	stale    bool // its source no longer reports it: it contests its name but asks for no fix
}

// explained is what VMs, stale ones included, account for in DNS: records
// of these names and addresses are not orphans. A stale VM may come back,
// so its records wait; once it is deleted they are explained no more.
type explained struct {
	ips, names, zones map[string]bool
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
	out, err := e.allocationItems(ctx, d)
	if err != nil || len(d.zones) == 0 {
		return out, err // no DNS collected: nothing more to compare with
	}
	dns, err := e.dnsItems(ctx, d)
	return append(out, dns...), err
}

// dnsItems are the rules between VMs and DNS.
func (e *Engine) dnsItems(ctx context.Context, d *dnsView) ([]Item, error) {
	ex := explained{ips: map[string]bool{}, names: map[string]bool{}, zones: map[string]bool{}}
	var claims []*claim
	err := e.store.Each(ctx, "vm", func(vm *inventory.Entry) error {
		c := &claim{vm: vm}
		c.ip, _ = vm.Attrs["ip"].(string)
		c.name, c.declared = expectedName(d, vm)
		c.stale = vm.Status == inventory.StatusStale
		ex.add(d, vm, c.name)
		claims = append(claims, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := settleNames(claims)
	live := slices.DeleteFunc(slices.Clone(claims), func(c *claim) bool { return c.stale })
	out = append(out, sharedAddresses(live)...)
	for _, c := range live { // a VM its source no longer reports asks for nothing
		if c.name != "" {
			out = append(out, e.checkVM(d, c)...)
		}
	}
	out = append(out, orphans(d, ex)...)
	return out, nil
}

func (ex explained) add(d *dnsView, vm *inventory.Entry, name string) {
	if ip, _ := vm.Attrs["ip"].(string); ip != "" {
		ex.ips[ip] = true
	}
	if l, ok := vm.Attrs["ips"].([]any); ok {
		for _, x := range l {
			ex.ips[fmt.Sprint(x)] = true
		}
	}
	if name != "" {
		ex.names[name] = true
		ex.zones[d.zoneOf(name)] = true
	}
}

// settleNames finds names more than one VM claims — a stale VM too: it
// may come back. A VM that declares the name (dns_name) owns it over VMs
// whose guests merely call themselves so; those lose the claim. Otherwise
// the name is ambiguous: one conflict names every candidate, and none of
// them gets a fix for it, because any fix could break the VM that is
// right. A person settles it by declaring dns_name on the owner (or
// another name on the others); a stale candidate drops out once deleted.
func settleNames(claims []*claim) []Item {
	byName := sharing(claims, func(c *claim) string { return c.name })
	var out []Item
	for _, name := range sortedKeys(byName) {
		cs := byName[name]
		var owners []*claim
		for _, c := range cs {
			if c.declared {
				owners = append(owners, c)
			}
		}
		if len(owners) == 1 {
			for _, c := range cs {
				if c != owners[0] {
					c.name = ""
				}
			}
			continue
		}
		who := make([]string, len(cs))
		for i, c := range cs {
			who[i] = c.describe()
			c.name = ""
		}
		out = append(out, Item{Kind: Conflict, Type: "vm", Scope: CrossScope, ObjectID: "dns_name:" + name, EntryName: cs[0].vm.Name,
			Attr: "dns_name", Message: fmt.Sprintf("%d VMs claim the DNS name %s: %s; no DNS fix until one is settled (declare dns_name on the VM that owns it)",
				len(cs), name, strings.Join(who, ", "))})
	}
	return out
}

// sharedAddresses finds addresses more than one live VM has: which VM the
// address (and its PTR) belongs to is unknown, so their claims make no
// fix that writes it.
func sharedAddresses(claims []*claim) []Item {
	byIP := sharing(claims, func(c *claim) string { return c.ip })
	var out []Item
	for _, ip := range sortedKeys(byIP) {
		cs := byIP[ip]
		who := make([]string, len(cs))
		for i, c := range cs {
			who[i] = c.vm.Name
			c.shared = true
		}
		out = append(out, Item{Kind: Conflict, Type: "vm", Scope: CrossScope, ObjectID: "ip:" + ip, EntryName: cs[0].vm.Name,
			Attr: "ip", Message: fmt.Sprintf("%d VMs have the address %s: %s; no DNS fix writes it until one is settled", len(cs), ip, strings.Join(who, ", "))})
	}
	return out
}

// sharing groups the claims by a value ("" is none), keeping the values
// more than one claim has.
func sharing(claims []*claim, value func(*claim) string) map[string][]*claim {
	by := map[string][]*claim{}
	for _, c := range claims {
		if v := value(c); v != "" {
			by[v] = append(by[v], c)
		}
	}
	for v, cs := range by {
		if len(cs) < 2 {
			delete(by, v)
		}
	}
	return by
}

func (c *claim) describe() string {
	var how []string
	if c.ip != "" {
		how = append(how, c.ip)
	}
	if c.declared {
		how = append(how, "declared")
	} else {
		how = append(how, "guest host name")
	}
	if c.stale {
		how = append(how, "stale")
	}
	return fmt.Sprintf("%s (%s)", c.vm.Name, strings.Join(how, ", "))
}

// expectedName is the DNS name a VM must have: its declared dns_name
// (declared is true), or else the host name its guest reports when that
// is a name inside a collected zone (VMware Tools knows the OS's own FQDN).
func expectedName(d *dnsView, vm *inventory.Entry) (name string, declared bool) {
	if name, _ := vm.Attrs["dns_name"].(string); name != "" {
		return name, true
	}
	h, _ := vm.Attrs["guest_hostname"].(string)
	if !strings.Contains(strings.TrimSuffix(h, "."), ".") {
		return "", false
	}
	name, err := schema.NormalizeFQDN(h)
	if err != nil || d.zoneOf(name) == "" {
		return "", false
	}
	return name, false
}

// checkVM compares one VM's claim with DNS: its A record and its PTR. Only
// names inside collected zones are checked: where tana has not read the
// zone, nothing is known about its records, and absence of data is not
// data. A shared address is reported, never written.
func (e *Engine) checkVM(d *dnsView, c *claim) []Item {
	vm, name, ip := c.vm, c.name, c.ip
	base := Item{Type: "vm", Scope: CrossScope, EntryID: vm.ID, EntryName: vm.Name, Version: vm.Version, Authority: schema.Declared}
	var out []Item
	as := d.a[name]
	if ip != "" { // an IPv4 address is judged by A records, an IPv6 one by AAAA
		as = slices.DeleteFunc(slices.Clone(as), func(r *inventory.Entry) bool { return r.Attrs["rtype"] != rtypeOf(ip) })
	}
	zone := d.zoneOf(name)
	switch {
	case zone == "":
	case len(as) == 0:
		it := base
		it.Kind, it.Attr, it.Store = MissingInReality, "dns_name", name
		it.Message = fmt.Sprintf("no A record for %s", name)
		if ip != "" && !c.shared {
			it.Fix = &collectors.Fix{Scope: "dns:" + zone, Op: collectors.OpCreate, Object: recordObject(zone, name, rtypeOf(ip), ip)}
		}
		out = append(out, it)
	case ip != "" && !anyValue(as, ip):
		it := base
		it.Kind, it.Attr, it.Store, it.Actual = Conflict, "ip", ip, values(as)
		it.Message = fmt.Sprintf("VM %s has %s but the A record of %s says %s", vm.Name, ip, name, strings.Join(values(as), ", "))
		if len(as) == 1 && !c.shared {
			old := entryObject(as[0])
			it.Fix = &collectors.Fix{Scope: "dns:" + zone, Op: collectors.OpUpdate, Object: old, Attr: "value", Old: old.Attrs["value"], New: ip}
		}
		out = append(out, it)
	}
	if ip == "" || c.shared {
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

// orphans finds records in zones holding VM names that no VM explains —
// A records pointing at no VM, and PTR records of no VM's address naming
// no VM and no other record — with a fix that removes them; and PTR
// records elsewhere whose name has no A record (reported only).
func orphans(d *dnsView, ex explained) []Item {
	// An A record serving the zone (a name server, a mail exchanger, a
	// CNAME or SRV target) points at no VM by design.
	orphanA := func(r *inventory.Entry) bool {
		fqdn, _ := r.Attrs["fqdn"].(string)
		value, _ := r.Attrs["value"].(string)
		return !ex.ips[value] && !ex.names[fqdn] && !d.targets[fqdn] && ex.zones[d.zoneOf(fqdn)]
	}
	var out []Item
	for _, r := range d.all {
		fqdn, _ := r.Attrs["fqdn"].(string)
		value, _ := r.Attrs["value"].(string)
		base := Item{Kind: Conflict, Type: "dns_record", Scope: CrossScope, EntryID: r.ID, EntryName: r.Name, Version: r.Version}
		switch r.Attrs["rtype"] {
		case "A", "AAAA":
			if orphanA(r) {
				base.Message = fmt.Sprintf("orphan A record: %s → %s points at no VM", fqdn, value)
			}
		case "PTR":
			named := d.a[value]
			live := slices.IndexFunc(named, func(a *inventory.Entry) bool { return !orphanA(a) }) >= 0
			switch {
			case !ex.ips[addressOf(fqdn)] && !ex.names[value] && !live && ex.zones[d.zoneOf(value)]:
				base.Message = fmt.Sprintf("orphan PTR record: %s → %s names no VM", fqdn, value)
			case len(named) == 0 && d.zoneOf(value) != "":
				base.Message = fmt.Sprintf("PTR %s → %s without an A record", fqdn, value)
				out = append(out, base)
				continue
			}
		}
		if base.Message != "" {
			base.Authority = schema.Declared
			base.Fix = &collectors.Fix{Scope: "dns:" + d.zoneOf(fqdn), Op: collectors.OpDelete, Object: entryObject(r)}
			out = append(out, base)
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

// addressOf is the address a reverse name stands for, or "".
func addressOf(rev string) string {
	if s, ok := strings.CutSuffix(rev, ".in-addr.arpa."); ok {
		p := strings.Split(s, ".")
		if len(p) != 4 {
			return ""
		}
		slices.Reverse(p)
		if a, err := netip.ParseAddr(strings.Join(p, ".")); err == nil {
			return a.String()
		}
		return ""
	}
	s, ok := strings.CutSuffix(rev, ".ip6.arpa.")
	if !ok {
		return ""
	}
	n := strings.Split(s, ".")
	if len(n) != 32 {
		return ""
	}
	slices.Reverse(n)
	var b strings.Builder
	for i, x := range n {
		if i > 0 && i%4 == 0 {
			b.WriteByte(':')
		}
		b.WriteString(x)
	}
	if a, err := netip.ParseAddr(b.String()); err == nil {
		return a.String()
	}
	return ""
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
