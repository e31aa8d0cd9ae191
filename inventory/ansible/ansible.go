// Package ansible builds Ansible dynamic inventories (the --list / --host
// contract of inventory scripts) from the store: hosts are entries of the
// configured types, groups follow Ansible's constructed plugin, group vars
// may come from CMDB entries. Output is streamed, sorted and deterministic.
package ansible

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// StaleGroup holds the hosts whose source no longer reports them (status
// stale): gone from vCenter, or held back from deletion by a safety limit,
// waiting for a person. ansible-playbook --limit '!tana_stale' leaves them
// out.
const StaleGroup = "tana_stale"

// Options shape the inventory. They mirror tana.yaml's ansible section; cmd
// converts, so this package does not depend on config.
type Options struct {
	Hosts          []string // entity types that become hosts (default vm)
	HostAddress    []string // first non-empty becomes ansible_host (default ip, name)
	HostvarsPrefix string   // put before every attribute hostvar
	// RefAttrs are attributes of referenced entries, "cluster.datacenter",
	// which become the hostvar cluster_datacenter.
	RefAttrs      []string
	KeyedGroups   []KeyedGroup
	Groups        map[string]Group
	GroupVarsFrom []string // types whose entries' attributes become vars of the group of their name

	IncludeSecrets    bool
	IncludePoweredOff bool
	IncludeTemplates  bool
	// AllowTemplates lets Ansible template CMDB values that look like
	// Jinja2; by default they are marked unsafe.
	AllowTemplates bool

	// Warn, when set, receives problems that do not stop the inventory
	// (a host name used by two host types).
	Warn func(msg string)
}

// KeyedGroup makes a group per value of Key, named as Ansible's
// constructed plugin does: Prefix + Separator (default "_") + value,
// sanitised; Default replaces an empty value. One deviation: an empty
// Prefix means the key itself, so {key: power_state} gives
// power_state_poweredOn rather than _poweredOn.
type KeyedGroup struct {
	Key       string // attribute, "name", or a reference path "cluster.datacenter"
	Prefix    string
	Separator *string
	Default   string
	// IfPresent applies the group only to host types that have Key,
	// instead of refusing the others (the defaults are made so).
	IfPresent bool
}

// DefaultKeyedGroups are the groups an inventory has when tana.yaml sets
// no keyed_groups: one per cluster, datacenter, power state and guest OS
// family (cluster_prod01, datacenter_dc1, power_state_poweredOn,
// os_linux), for the host types that have those attributes.
func DefaultKeyedGroups() []KeyedGroup {
	return []KeyedGroup{
		{Key: "cluster", Prefix: "cluster", IfPresent: true},
		{Key: "datacenter", Prefix: "datacenter", IfPresent: true},
		{Key: "power_state", Prefix: "power_state", IfPresent: true},
		{Key: GuestOSFamily, Prefix: "os", IfPresent: true},
	}
}

// Group is a user-defined group: the hosts whose attributes match every
// filter (a list value matches any of its elements), with vars.
type Group struct {
	Filters map[string]any
	Vars    map[string]any
}

// Inventory builds inventories from one store with fixed options. It is
// safe for concurrent use.
type Inventory struct {
	store     *inventory.Store
	opts      Options
	hostTypes []*hostType
	refTypes  map[string][]string // referenced type → attributes needed from it
	groups    []userGroup         // sorted by name
	vis       Visibility          // the caller's, in an inventory For one
}

// hostType is the compiled plan for one host entity type.
type hostType struct {
	t               *schema.EntityType
	index           map[string]int // attribute name → index in t.Attributes
	template, power int            // indexes of the attributes that exclude hosts; -1: none
	fields          []field        // hostvars in key order
	address         []getter
	keyed           []keyedGroup
	filters         [][]filter // per Inventory.groups entry; nil: the group cannot match this type
	// A caller's view (Inventory.For): the rows it may read, and the
	// attributes decided host by host.
	vis      Visibility
	rows     *inventory.AccessFilter
	perEntry map[string]bool
}

// field is one hostvar: its pre-encoded `"key":` and where the value is.
type field struct {
	name string
	key  []byte
	get  getter
}

// New checks opts against the store's types and compiles them.
func New(s *inventory.Store, opts Options) (*Inventory, error) {
	inv, errs := compile(s.Registry(), opts)
	if len(errs) > 0 {
		return nil, fmt.Errorf("ansible: %w", errors.Join(errs...))
	}
	inv.store = s
	return inv, nil
}

// Check returns every problem opts has with the registry's types, without a
// store, each a *schema.Error whose Field names the option it is about
// (hosts[0], keyed_groups[1].key, groups.web.filters): tana checks its
// configuration with it before it opens the database.
func Check(reg *schema.Registry, opts Options) []error {
	_, errs := compile(reg, opts)
	return errs
}

// compile checks opts against reg's types and builds the plan for each
// host type. It carries on past problems to report all of them.
func compile(reg *schema.Registry, opts Options) (*Inventory, []error) {
	if len(opts.Hosts) == 0 {
		opts.Hosts = []string{"vm"}
	}
	if len(opts.HostAddress) == 0 {
		opts.HostAddress = []string{"ip", "name"}
	}
	inv := &Inventory{opts: opts, refTypes: map[string][]string{}}
	var errs problems
	for i, typ := range opts.GroupVarsFrom {
		if _, err := reg.Type(typ); err != nil {
			errs.add(fmt.Sprintf("group_vars_from[%d]", i), err)
		}
	}
	errs = append(errs, inv.compileGroups()...)
	for i, name := range opts.Hosts {
		t, err := reg.Type(name)
		if err != nil {
			errs.add(fmt.Sprintf("hosts[%d]", i), err)
			continue
		}
		ht, terrs := inv.compileType(reg, t)
		errs = append(errs, terrs...)
		inv.hostTypes = append(inv.hostTypes, ht)
	}
	if len(errs) == 0 {
		for i, ug := range inv.groups {
			if !inv.groupUsable(i) {
				errs = append(errs, schema.FieldErrorf(schema.EINVALID, "groups."+ug.name+".filters", "filters name attributes no host type has"))
			}
		}
	}
	return inv, errs.unique()
}

// compileType builds the hostvars, address, keyed-group and filter plan of
// one host type.
func (inv *Inventory) compileType(reg *schema.Registry, t *schema.EntityType) (*hostType, problems) {
	ht := &hostType{t: t, index: make(map[string]int, len(t.Attributes)), template: -1, power: -1}
	for i, a := range t.Attributes {
		ht.index[a.Name] = i
	}
	if i, ok := ht.index["template"]; ok {
		ht.template = i
	}
	if i, ok := ht.index["power_state"]; ok {
		ht.power = i
	}
	var errs problems
	vars := map[string]getter{}
	for _, a := range t.Attributes {
		if t.Hides(a.Name, inv.secrets()) {
			continue
		}
		g, err := inv.resolve(reg, t, a.Name)
		if err != nil {
			errs.add("hosts", err)
			continue
		}
		vars[inv.opts.HostvarsPrefix+a.Name] = g
	}
	for i, p := range inv.opts.RefAttrs {
		g, err := inv.resolve(reg, t, p)
		if err == nil && g.target == "" {
			err = fmt.Errorf("%q is not a reference path (want ref.attribute)", p)
		}
		if err != nil {
			errs.add(fmt.Sprintf("ref_attrs[%d]", i), err)
			continue
		}
		vars[inv.opts.HostvarsPrefix+strings.ReplaceAll(p, ".", "_")] = g
	}
	vars["ansible_host"] = getter{address: true}
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ht.fields = append(ht.fields, field{name: k, key: append(appendString(nil, k), ':'), get: vars[k]})
	}
	for i, p := range inv.opts.HostAddress {
		g, err := inv.resolve(reg, t, p)
		if err != nil {
			errs.add(fmt.Sprintf("host_address[%d]", i), err)
			continue
		}
		ht.address = append(ht.address, g)
	}
	for i, kg := range inv.opts.KeyedGroups {
		if kg.IfPresent && !hasKey(t, kg.Key) {
			continue
		}
		k, err := inv.compileKeyed(reg, t, kg)
		if err != nil {
			errs.add(fmt.Sprintf("keyed_groups[%d].key", i), err)
			continue
		}
		ht.keyed = append(ht.keyed, k)
	}
	for _, ug := range inv.groups {
		fs, err := inv.compileFilters(reg, t, ug)
		if err != nil {
			errs.add("groups."+ug.name+".filters", err)
		}
		ht.filters = append(ht.filters, fs)
	}
	return ht, errs
}

// problems collects compile errors, each placed on the option it is about.
type problems []error

// add records err as a problem of option field, keeping err's message (it
// names the type and attribute) but not its own field.
func (ps *problems) add(field string, err error) {
	msg, code := err.Error(), schema.EINVALID
	var e *schema.Error
	if errors.As(err, &e) {
		msg = e.Message
	}
	*ps = append(*ps, &schema.Error{Code: code, Field: field, Message: msg})
}

// unique drops repeated problems (several host types share an option).
func (ps problems) unique() []error {
	seen := map[string]bool{}
	var out []error
	for _, p := range ps {
		if !seen[p.Error()] {
			seen[p.Error()] = true
			out = append(out, p)
		}
	}
	return out
}

// resolve turns "attr", "name" or "ref.attr" into a getter, recording the
// attributes needed from referenced types. Secret attributes are refused
// unless secrets are included: they would leak through names and vars.
func (inv *Inventory) resolve(reg *schema.Registry, t *schema.EntityType, path string) (getter, error) {
	head, tail, isRef := strings.Cut(path, ".")
	if head == "name" && !isRef {
		return getter{name: true}, nil
	}
	if g, ok := familyGetter(t, path); ok {
		return g, nil
	}
	a := t.Attr(head)
	if a == nil {
		return getter{}, schema.FieldErrorf(schema.EINVALID, path, "type %s has no attribute %q", t.Name, head)
	}
	if t.Hides(head, inv.secrets()) {
		return getter{}, schema.FieldErrorf(schema.EINVALID, path, "%s.%s is secret (set include_secrets to use it)", t.Name, head)
	}
	g := getter{attr: head, idx: attrIndex(t, head), ref: a.Type.Kind == schema.KindRef, list: a.Type.List}
	if !isRef || tail == "name" {
		return g, nil
	}
	if a.Type.Kind != schema.KindRef {
		return getter{}, schema.FieldErrorf(schema.EINVALID, path, "%s.%s is not a reference", t.Name, head)
	}
	rt, err := reg.Type(a.Type.RefType)
	if err != nil {
		return getter{}, err
	}
	ta := rt.Attr(tail)
	if ta == nil {
		return getter{}, schema.FieldErrorf(schema.EINVALID, path, "type %s has no attribute %q", rt.Name, tail)
	}
	if rt.Hides(tail, inv.secrets()) {
		return getter{}, schema.FieldErrorf(schema.EINVALID, path, "%s.%s is secret (set include_secrets to use it)", rt.Name, tail)
	}
	need := inv.refTypes[rt.Name]
	if !contains(need, tail) {
		inv.refTypes[rt.Name] = append(need, tail)
	}
	g.target, g.targetAttr = rt.Name, tail
	return g, nil
}

// secrets is how this inventory treats secret attributes: left out unless
// include_secrets.
func (inv *Inventory) secrets() schema.Redaction {
	return schema.RevealIf(inv.opts.IncludeSecrets, schema.Drop)
}

// groupUsable reports whether some host type has every attribute user
// group i filters on.
func (inv *Inventory) groupUsable(i int) bool {
	for _, ht := range inv.hostTypes {
		if ht.filters[i] != nil {
			return true
		}
	}
	return false
}

// attrIndex is the index of attribute name in t.Attributes.
func attrIndex(t *schema.EntityType, name string) int {
	for i, a := range t.Attributes {
		if a.Name == name {
			return i
		}
	}
	return -1
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func (inv *Inventory) warn(format string, args ...any) {
	if inv.opts.Warn != nil {
		inv.opts.Warn(fmt.Sprintf(format, args...))
	}
}
