package dns

import (
	"context"
	"fmt"

	"github.com/miekg/dns"
)

// update sends one UPDATE for changes. Each record to remove must exist:
// the prerequisite is every touched RRset exactly as read just before
// (RFC 2136 2.4.2, value dependent) with the record in it, so a record
// already gone, or an RRset changed by someone in between, makes the
// server refuse the whole message with NXRRSET and nothing changes.
func (f *Fixer) update(ctx context.Context, zone string, changes []change) (ignored map[int]error, err error) {
	conn, err := f.s.dial(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.close()
	prereq, err := currentRRsets(conn, changes)
	if err != nil {
		return nil, err
	}
	m := new(dns.Msg)
	m.SetUpdate(zone)
	m.Used(prereq)
	for _, ch := range changes {
		if ch.del != nil {
			m.Remove([]dns.RR{dns.Copy(ch.del)})
		}
		if ch.add != nil {
			m.Insert([]dns.RR{dns.Copy(ch.add)})
		}
	}
	if _, err := conn.exchange(m); err != nil {
		if isRcode(err) {
			return nil, fmt.Errorf("update refused (%w)", err)
		}
		return nil, fmt.Errorf("update: %w", err)
	}
	ignored = map[int]error{}
	if err := verifyAdds(conn, changes, ignored); err != nil {
		return nil, fmt.Errorf("update sent, but reading back the added records failed: %w", err)
	}
	return ignored, nil
}

// verifyAdds reads back every added record. BIND answers NOERROR yet
// ignores some additions (a CNAME beside other data, a record beside a
// CNAME); those fixes must not be reported as made.
func verifyAdds(conn *conn, changes []change, errs map[int]error) error {
	type key struct {
		name  string
		rtype uint16
	}
	sets := map[key][]dns.RR{}
	for _, ch := range changes {
		if ch.add == nil {
			continue
		}
		k := key{dns.CanonicalName(ch.add.Header().Name), ch.add.Header().Rrtype}
		if _, seen := sets[k]; !seen {
			rrs, err := queryRRset(conn, k.name, k.rtype)
			if err != nil {
				return err
			}
			sets[k] = rrs
		}
		if !containsRR(sets[k], ch.add) {
			errs[ch.fix] = fmt.Errorf("the server accepted the update but did not add %s %s %s (a CNAME and other data at one name?)",
				k.name, dns.Type(k.rtype), Value(ch.add))
		}
	}
	return nil
}

// currentRRsets reads each RRset a change removes from and returns those
// RRs plus the removed records not among them (which the server will then
// find missing).
func currentRRsets(conn *conn, changes []change) ([]dns.RR, error) {
	type key struct {
		name  string
		rtype uint16
	}
	sets := map[key][]dns.RR{}
	var order []key
	for _, ch := range changes {
		if ch.del == nil {
			continue
		}
		k := key{dns.CanonicalName(ch.del.Header().Name), ch.del.Header().Rrtype}
		if _, seen := sets[k]; !seen {
			rrs, err := queryRRset(conn, k.name, k.rtype)
			if err != nil {
				return nil, err
			}
			sets[k], order = rrs, append(order, k)
		}
		if !containsRR(sets[k], ch.del) {
			sets[k] = append(sets[k], dns.Copy(ch.del))
		}
	}
	var out []dns.RR
	for _, k := range order {
		out = append(out, sets[k]...)
	}
	return out, nil
}

func queryRRset(conn *conn, name string, rtype uint16) ([]dns.RR, error) {
	q := new(dns.Msg)
	q.SetQuestion(name, rtype)
	q.RecursionDesired = false
	r, err := conn.exchange(q)
	if re, ok := asRcode(err); ok && re.Rcode == dns.RcodeNameError && re.TSIGError == 0 {
		return nil, nil // NXDOMAIN: the RRset is empty
	}
	if err != nil {
		return nil, fmt.Errorf("read %s %s before update: %w", name, dns.Type(rtype), err)
	}
	var rrs []dns.RR
	for _, rr := range r.Answer {
		h := rr.Header()
		if h.Rrtype == rtype && h.Class == dns.ClassINET && dns.CanonicalName(h.Name) == name {
			rrs = append(rrs, rr)
		}
	}
	return rrs, nil
}

func containsRR(set []dns.RR, rr dns.RR) bool {
	for _, x := range set {
		if sameRR(x, rr) {
			return true
		}
	}
	return false
}

// sameRR compares owner, type and normalised rdata, ignoring TTL and the
// case of names and hex (dns.IsDuplicate minds the case of hex strings).
func sameRR(a, b dns.RR) bool {
	ha, hb := a.Header(), b.Header()
	return ha.Rrtype == hb.Rrtype && ha.Class == hb.Class &&
		dns.CanonicalName(ha.Name) == dns.CanonicalName(hb.Name) && Value(a) == Value(b)
}
