package dns

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/miekg/dns"

	"github.com/tana-cmdb/tana/collectors"
)

// zoneState is the last complete transfer of a zone. It is never changed
// after it is built; an IXFR makes a new one.
type zoneState struct {
	soa     *dns.SOA
	records map[string]collectors.Object // by ID
	objects []collectors.Object          // zone object first, then records by ID
}

func newZoneState(zone, server string, soa *dns.SOA, records map[string]collectors.Object) *zoneState {
	objs := make([]collectors.Object, 0, len(records)+1)
	objs = append(objs, ZoneObject(zone, server, soa))
	for _, id := range slices.Sorted(maps.Keys(records)) {
		objs = append(objs, records[id])
	}
	return &zoneState{soa: soa, records: records, objects: objs}
}

// collect reads every zone in turn. A zone that fails is returned
// incomplete with its error; the error return is set only when no zone at
// all could be read, with the snapshots still returned.
func (c *Collector) collect(ctx context.Context) ([]*collectors.Snapshot, error) {
	snaps := make([]*collectors.Snapshot, 0, len(c.s.zones))
	failed := 0
	var first error
	for _, zone := range c.s.zones {
		snap, err := c.collectZone(ctx, zone)
		if err != nil {
			failed++
			first = cmp.Or(first, err)
		}
		snaps = append(snaps, snap)
	}
	if failed == len(snaps) {
		return snaps, fmt.Errorf("dns %s: no zone could be read: %w", c.s.name, first)
	}
	return snaps, nil
}

func (c *Collector) collectZone(ctx context.Context, zone string) (*collectors.Snapshot, error) {
	snap := &collectors.Snapshot{
		Source: c.s.name, Kind: "dns", Scope: "dns:" + zone,
		Types: []string{TypeZone, TypeRecord}, StartedAt: c.s.now(),
	}
	st, err := c.refresh(ctx, zone)
	snap.FinishedAt = c.s.now()
	if err != nil {
		err = c.s.zoneErr(zone, err)
		c.count(func(s *Stats) { s.Failed++ })
		c.log.Warn("dns zone collection failed", "zone", zone, "err", err)
		snap.Fail(err)
		return snap, err
	}
	snap.Complete = true
	// The slice is the caller's; the objects' Attrs maps are shared with
	// the cache and must be treated as read-only.
	snap.Objects = slices.Clone(st.objects)
	return snap, nil
}

// refresh returns the zone's current state: from the cache when the SOA
// serial is unchanged, else by IXFR from the cached serial, else by AXFR.
func (c *Collector) refresh(ctx context.Context, zone string) (*zoneState, error) {
	c.mu.Lock()
	old := c.cache[zone]
	c.mu.Unlock()

	soa, err := c.querySOA(ctx, zone)
	if err != nil {
		return nil, fmt.Errorf("SOA query: %w", err)
	}
	if old != nil && soa.Serial == old.soa.Serial {
		c.count(func(s *Stats) { s.Unchanged++ })
		return old, nil
	}
	var st *zoneState
	if old != nil {
		st, err = c.ixfr(ctx, zone, old)
		if err != nil && ctx.Err() == nil && fallbackToAXFR(err) {
			c.log.Info("dns IXFR not usable, falling back to AXFR", "zone", zone, "err", err)
			st, err = nil, nil
		}
		if err != nil {
			return nil, err
		}
	}
	if st == nil {
		if st, err = c.axfr(ctx, zone); err != nil {
			return nil, err
		}
	}
	c.mu.Lock()
	c.cache[zone] = st
	c.mu.Unlock()
	return st, nil
}

// fallbackToAXFR: the server declined IXFR, or sent a history that is
// malformed or does not fit our copy. Cut-off transfers and signature
// failures would fail again and are not retried.
func fallbackToAXFR(err error) bool {
	if re, ok := errors.AsType[*RcodeError](err); ok {
		return re.TSIGError == 0 && re.Rcode != dns.RcodeNotAuth
	}
	return errors.Is(err, errIXFRMismatch) ||
		errors.Is(err, errMalformed) && !errors.Is(err, errNoClosingSOA)
}

func (c *Collector) querySOA(ctx context.Context, zone string) (*dns.SOA, error) {
	c.count(func(s *Stats) { s.SOAQueries++ })
	conn, err := c.s.dial(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.close()
	q := new(dns.Msg)
	q.SetQuestion(zone, dns.TypeSOA)
	r, err := conn.exchange(q)
	if err != nil {
		return nil, err
	}
	for _, rr := range r.Answer {
		if soa, ok := rr.(*dns.SOA); ok && r.Authoritative && dns.CanonicalName(soa.Hdr.Name) == zone {
			return soa, nil
		}
	}
	return nil, fmt.Errorf("server is not authoritative for the zone")
}

func (c *Collector) axfr(ctx context.Context, zone string) (*zoneState, error) {
	res, err := c.xfr(ctx, zone, nil)
	if err != nil {
		return nil, fmt.Errorf("AXFR: %w", err)
	}
	if !res.full {
		return nil, fmt.Errorf("AXFR: %w: not a full zone", errMalformed)
	}
	records := make(map[string]collectors.Object, len(res.rrs))
	for _, rr := range res.rrs {
		if obj, ok := RecordObject(zone, rr); ok {
			records[obj.ID] = obj
		}
	}
	c.count(func(s *Stats) { s.AXFR++ })
	return newZoneState(zone, c.s.server, res.soa, records), nil
}

// errIXFRMismatch: the server's history does not fit our cached copy.
var errIXFRMismatch = errors.New("IXFR does not apply to the cached zone")

func (c *Collector) ixfr(ctx context.Context, zone string, old *zoneState) (*zoneState, error) {
	res, err := c.xfr(ctx, zone, old.soa)
	if err != nil {
		return nil, fmt.Errorf("IXFR from serial %d: %w", old.soa.Serial, err)
	}
	if res.upToDate {
		// Only a serial older than ours gets here (refresh saw it differ):
		// the zone went back, e.g. restored from a backup. Our copy is not
		// the server's; read it whole.
		return nil, fmt.Errorf("%w: server serial %d is not newer than ours", errIXFRMismatch, res.soa.Serial)
	}
	if res.full { // the server answered AXFR-style
		records := make(map[string]collectors.Object, len(res.rrs))
		for _, rr := range res.rrs {
			if obj, ok := RecordObject(zone, rr); ok {
				records[obj.ID] = obj
			}
		}
		c.count(func(s *Stats) { s.AXFR++ })
		return newZoneState(zone, c.s.server, res.soa, records), nil
	}
	records := maps.Clone(old.records)
	serial := old.soa.Serial
	for _, d := range res.diffs {
		if d.from != serial {
			return nil, fmt.Errorf("%w: step from serial %d, have %d", errIXFRMismatch, d.from, serial)
		}
		if err := applyDiff(zone, records, d); err != nil {
			return nil, err
		}
		serial = d.to
	}
	c.count(func(s *Stats) { s.IXFR++ })
	return newZoneState(zone, c.s.server, res.soa, records), nil
}

func applyDiff(zone string, records map[string]collectors.Object, d ixfrDiff) error {
	for _, rr := range d.del {
		if obj, ok := RecordObject(zone, rr); ok {
			if _, had := records[obj.ID]; !had {
				return fmt.Errorf("%w: serial %d deletes %s, which we do not have", errIXFRMismatch, d.to, obj.ID)
			}
			delete(records, obj.ID)
		}
	}
	for _, rr := range d.add {
		if obj, ok := RecordObject(zone, rr); ok {
			records[obj.ID] = obj
		}
	}
	return nil
}

// xfr runs one transfer on its own connection; since nil means AXFR.
func (c *Collector) xfr(ctx context.Context, zone string, since *dns.SOA) (*xfrResult, error) {
	conn, err := c.s.dial(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.close()
	return c.s.transfer(conn, zone, since != nil, since)
}
