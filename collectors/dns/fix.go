package dns

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"strconv"

	"github.com/miekg/dns"

	"github.com/tana-cmdb/tana/collectors"
)

// Fixer changes records of the configured zones by RFC 2136 UPDATE: one
// signed, atomic message per zone, so the fixes of a zone succeed or fail
// together.
type Fixer struct {
	s   *settings
	log *slog.Logger
}

var _ collectors.Fixer = (*Fixer)(nil)

// NewFixer validates cfg and returns a Fixer. log may be nil.
func NewFixer(cfg Config, log *slog.Logger) (*Fixer, error) {
	s, err := cfg.settings()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Fixer{s: s, log: log.With("source", s.name)}, nil
}

// Handles reports whether scope is "dns:<zone>" of a configured zone.
func (f *Fixer) Handles(scope string) bool {
	_, ok := f.s.zoneOf(scope)
	return ok
}

// Apply sends one UPDATE per zone. A fix that cannot be expressed (bad
// value, not a dns_record) fails alone and is left out of the message;
// the server's verdict on the message is every other fix's result.
func (f *Fixer) Apply(ctx context.Context, fixes []collectors.Fix) []error {
	errs := make([]error, len(fixes))
	byZone := map[string][]int{}
	var zones []string
	for i, fx := range fixes {
		zone, ok := f.s.zoneOf(fx.Scope)
		if !ok {
			errs[i] = fmt.Errorf("dns %s: scope %q is not a configured zone", f.s.name, fx.Scope)
			continue
		}
		if _, seen := byZone[zone]; !seen {
			zones = append(zones, zone)
		}
		byZone[zone] = append(byZone[zone], i)
	}
	for _, zone := range zones {
		f.applyZone(ctx, zone, fixes, byZone[zone], errs)
	}
	return errs
}

// change is one fix as RRs: del must exist and is removed, then add is
// added. Either may be nil.
type change struct {
	fix      int
	del, add dns.RR
}

func (f *Fixer) applyZone(ctx context.Context, zone string, fixes []collectors.Fix, idx []int, errs []error) {
	var changes []change
	for _, i := range idx {
		ch, err := planFix(zone, fixes[i])
		if err != nil {
			errs[i] = f.s.zoneErr(zone, fmt.Errorf("%s: %w", fixes[i], err))
			continue
		}
		ch.fix = i
		changes = append(changes, ch)
	}
	if len(changes) == 0 {
		return
	}
	ignored, err := f.update(ctx, zone, changes)
	if err != nil {
		err = f.s.zoneErr(zone, err)
		f.log.Warn("dns update failed", "zone", zone, "fixes", len(changes), "err", err)
		for _, ch := range changes {
			errs[ch.fix] = err
		}
		return
	}
	for i, err := range ignored {
		errs[i] = f.s.zoneErr(zone, fmt.Errorf("%s: %w", fixes[i], err))
	}
	f.log.Info("dns update applied", "zone", zone, "fixes", len(changes), "ignored", len(ignored))
}

func planFix(zone string, fx collectors.Fix) (change, error) {
	if fx.Object.Type != TypeRecord {
		return change{}, fmt.Errorf("cannot fix %s objects, only %s", fx.Object.Type, TypeRecord)
	}
	attrs := fx.Object.Attrs
	switch fx.Op {
	case collectors.OpCreate:
		rr, err := recordRR(zone, attrs)
		return change{add: rr}, err
	case collectors.OpDelete:
		rr, err := recordRR(zone, attrs)
		return change{del: rr}, err
	case collectors.OpUpdate:
		switch fx.Attr {
		case "value", "ttl", "fqdn", "rtype":
		default:
			return change{}, fmt.Errorf("cannot update attribute %q", fx.Attr)
		}
		if fx.New == nil {
			return change{}, fmt.Errorf("update of %q without a new value", fx.Attr)
		}
		oldAttrs, newAttrs := maps.Clone(attrs), maps.Clone(attrs)
		if fx.Old != nil {
			oldAttrs[fx.Attr] = fx.Old
		}
		newAttrs[fx.Attr] = fx.New
		del, err := recordRR(zone, oldAttrs)
		if err != nil {
			return change{}, fmt.Errorf("old record: %w", err)
		}
		add, err := recordRR(zone, newAttrs)
		if err != nil {
			return change{}, fmt.Errorf("new record: %w", err)
		}
		return change{del: del, add: add}, nil
	}
	return change{}, fmt.Errorf("unknown operation %q", fx.Op)
}

// recordRR builds the RR of a dns_record's attributes fqdn, rtype, value
// and ttl (DefaultTTL when absent), which must lie inside zone.
func recordRR(zone string, attrs map[string]any) (dns.RR, error) {
	fqdn, _ := attrs["fqdn"].(string)
	rtype, _ := attrs["rtype"].(string)
	value, _ := attrs["value"].(string)
	if fqdn == "" || rtype == "" || value == "" {
		return nil, fmt.Errorf("record needs fqdn, rtype and value")
	}
	ttl, err := ttlOf(attrs["ttl"])
	if err != nil {
		return nil, err
	}
	if !dns.IsSubDomain(zone, dns.CanonicalName(fqdn)) {
		return nil, fmt.Errorf("%s is not in zone %s", fqdn, zone)
	}
	return ParseRecord(fqdn, rtype, value, ttl)
}

func ttlOf(v any) (uint32, error) {
	var n int64
	switch t := v.(type) {
	case nil:
		return DefaultTTL, nil
	case int:
		n = int64(t)
	case int64:
		n = t
	case uint32:
		n = int64(t)
	case json.Number:
		var err error
		if n, err = t.Int64(); err != nil {
			return 0, fmt.Errorf("bad ttl %q", t)
		}
	case float64:
		n = int64(t)
		if float64(n) != t {
			return 0, fmt.Errorf("bad ttl %v", t)
		}
	case string:
		var err error
		if n, err = strconv.ParseInt(t, 10, 64); err != nil {
			return 0, fmt.Errorf("bad ttl %q", t)
		}
	default:
		return 0, fmt.Errorf("bad ttl %v (%T)", v, v)
	}
	if n < 0 || n > math.MaxInt32 {
		return 0, fmt.Errorf("ttl %d out of range", n)
	}
	return uint32(n), nil
}
